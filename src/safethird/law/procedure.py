"""The procedure: how the findings become a procedural pathway.

The pathway follows the order of the procedure in expedited removal (8 CFR 208.30): an
unaccompanied child is not in expedited removal at all; without a fear claim there is no
screening; the ACA threshold screening comes "prior to any determination concerning whether the
alien has a credible fear" (208.30(e)(7)); then credible fear, where the transit bar sends the
person to the reasonable-fear standard (208.30(e)(5)(iii)), and the lawful-pathways rule's
unrebutted presumption to the reasonable-possibility standard (208.33(b)(2)).

Before an immigration judge (``forum`` ``section_240``; 8 CFR 1240.11(h)) the order is the one
*Matter of C-I-G-M- & L-V-S-G-*, 29 I&N Dec. 291 (BIA 2025) sets: on DHS's motion to pretermit
under an agreement the judge decides the agreement bar before the merits; the judge does not
decide "access to a full and fair procedure" or the public interest, and DHS need not show the
partner will accept the person; the respondent escapes the bar only by showing, by a
preponderance, that persecution on a protected ground or torture in the partner is more likely
than not (the fact ``fear_of_receiving_country``); *Matter of T-A-G-*, 29 I&N Dec. 715 (BIA
2026): pending collateral relief is no ground to deny or defer the motion. Only then the merits,
where the transit bar or the lawful-pathways presumption may bar asylum.

The agreements were applied only in expedited removal until the 2025 agreements, which DHS
invokes in section 240 too: before the first of them operated the procedure followed is the
expedited-removal one (as in 2019–2021); from then on an unknown forum is an open question (the
pathway stays undetermined).

The agreement is a choice DHS makes case by case: 208.30(e)(7) begins only when the officer finds
the person "appears to be subject to" an agreement "and seeks the alien's removal" under it. So
the ACA pathways require both the finding (the person is amenable) and the fact ``aca_invoked``;
without the second, the case goes on to credible fear as if no agreement applied.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from safethird import facts
from safethird.law import aca, clp, transit_bar
from safethird.law.data import Law
from safethird.law.uac import unaccompanied_alien_child
from safethird.logic.expr import AS_OF, Clause, Const, Expr, IsTrue, Overlaps, any_of, date, fact
from safethird.logic.finding import DecisionTable, Finding
from safethird.logic.reasoning import AuthorityDecision, Declarations, UnlessStated

PATHWAYS = {
    "uac_return_contiguous": "unaccompanied child from a contiguous country (Mexico, Canada) "
                             "with no fear claim: may be permitted to withdraw the application "
                             "for admission and be returned, if DHS finds case by case no "
                             "trafficking risk and that the child can decide independently; "
                             "otherwise section 240 (8 U.S.C. 1232(a)(2))",
    "uac_section_240": "unaccompanied child: not in expedited removal; section 240 removal "
                       "proceedings, USCIS initial jurisdiction over asylum "
                       "(8 U.S.C. 1232(a)(5)(D); INA 208(b)(3)(C))",
    "no_fear_claim": "no fear claimed: ordinary expedited removal (INA 235(b)(1)(A)(i))",
    "aca_transfer": "removal to the partner under an agreement DHS invoked: the threshold "
                    "screening found no fear of the partner; unless the person withdraws the "
                    "asylum request (8 CFR 208.30(e)(7)(i)(B))",
    "aca_threshold_screening": "amenable to an agreement DHS invoked; the threshold screening "
                               "on fear of the partner is still open (8 CFR 208.30(e)(7))",
    "credible_fear_barred": "asylum barred by the transit bar: screened for withholding of "
                            "removal and CAT protection at the reasonable-fear standard "
                            "(8 CFR 208.30(e)(5)(iii))",
    "credible_fear_asylum": "credible fear screening with asylum available (8 CFR 208.30(e))",
    "aca_pretermission": "section 240: DHS moved to pretermit the asylum application under an "
                         "agreement; the immigration judge decides the bar before the merits; "
                         "the respondent's more-likely-than-not showing about the partner is "
                         "open (8 CFR 1240.11(h); Matter of C-I-G-M- & L-V-S-G-, 29 I&N Dec. "
                         "291 (BIA 2025))",
    "aca_pretermitted": "section 240: application pretermitted, removal to the partner under "
                        "the agreement (the respondent did not show persecution or torture "
                        "there more likely than not) (8 CFR 1240.11(h); Matter of C-I-G-M-; "
                        "Matter of T-A-G-, 29 I&N Dec. 715 (BIA 2026))",
    "section_240_barred": "section 240: no agreement bar; asylum barred (transit bar or the "
                          "lawful-pathways presumption): withholding of removal and CAT only "
                          "(8 CFR 1208.13(c)(4); 8 CFR 1208.33)",
    "section_240_asylum": "section 240: no agreement bar and no transit or lawful-pathways bar: "
                          "asylum heard on the merits before the immigration judge (INA 240)",
    "undetermined": "depends on unknown facts",
}

# 8 U.S.C. 1232(a)(2): the countries contiguous with the United States
CONTIGUOUS = ("CA", "MX")


AUTHORITY_DECISIONS = (
    AuthorityDecision("aca_invoked", "aca", "if DHS invokes the agreement",
                      "if DHS does not (it may use other processes instead)",
                      "8 CFR 208.30(e)(7) (\"seeks the alien's removal\" under an agreement)"),
)


UNLESS_STATED = (
    UnlessStated("public_interest_exception", False,
                 "unless the USCIS Director decides otherwise, in the public interest",
                 "8 CFR 208.30(e)(7)(iii)(B); INA 208(a)(2)(A)"),
)


# Facts whose unknown means "not shown": the outcome of a stage of the procedure that has not
# yet taken place (the threshold screening decides fear of the partner). They are never asked
# for as missing facts; the pathway says the stage is still open.
NOT_SHOWN = ("fear_of_receiving_country.*",)

DECLARATIONS = Declarations(AUTHORITY_DECISIONS, UNLESS_STATED, NOT_SHOWN, facts.IDENTITY,
                            facts.possible)


def unless_stated(record: dict[str, Any]) -> dict[str, Any]:
    """The case with the decisions it does not state counted as not made."""
    return DECLARATIONS.fill(record)


def rule_set(law: Law) -> tuple[tuple[Finding, ...], DecisionTable]:
    """The findings, in the order the procedure reaches them, and the pathway over them: a
    new provision is a rule module added here (the reasoning in ``logic/`` is the same)."""
    aca_f, tb_f = aca.rule(law), transit_bar.rule(law)
    clp_f = clp.rule(law) if law.clp is not None else None
    findings = (aca_f, tb_f) if clp_f is None else (aca_f, tb_f, clp_f)
    return findings, pathway(aca_f, tb_f, clp_f, law)


def contiguous_uac_return() -> Clause:
    from_contiguous = Overlaps(fact("nationalities"), CONTIGUOUS) | fact(
        "habitual_residence").isin(CONTIGUOUS)
    at_border_or_port = fact("arrival.border").isin(["southern_land", "northern_land"]) | fact(
        "arrival.place").eq("port_of_entry")
    return Clause(
        "pathway.uac_return_contiguous",
        "an unaccompanied child who is a national or habitual resident of a contiguous country "
        "(Mexico, Canada), found at a land border or port of entry, not a trafficking victim, "
        "with no fear of return claimed: may be permitted to withdraw the application for "
        "admission and be returned (if DHS also finds no risk of trafficking on return and that "
        "the child can decide independently; otherwise section 240)",
        "8 U.S.C. 1232(a)(2)(A)-(B); TVPRA 2008 sec. 235(a)(2)",
        unaccompanied_alien_child() & from_contiguous & at_border_or_port
        & ~fact("trafficking_victim") & ~fact("fear_claimed"))


def section_240_from(law: Law | None) -> dt.date | None:
    """The first day an agreement invoked against pending cases operated (the 2025 ones)."""
    days = [max(p.from_, a.in_force_from or p.from_) for a in (law.agreements if law else ())
            if a.applies_to_arrivals.pending_cases for p in a.operation]
    return min(days, default=None)


def before_judge(law: Law | None) -> Expr:
    """The case is before an immigration judge in section 240 proceedings. Until agreements
    were invoked there (the 2025 ones) the procedure followed is expedited removal's, as the
    2019 agreements were applied: the 2019 cases keep their answers."""
    in_240 = fact("forum").eq("section_240")
    start = section_240_from(law)
    late = Const(False, "bool") if start is None else AS_OF.ge(date(start))
    return Clause("pathway.section_240", "the case is before an immigration judge in section "
                  "240 removal proceedings", "INA 240; 8 CFR 1240.11(h)",
                  late & in_240)


def pathway(aca_f: Finding, tb_f: Finding, clp_f: Finding | None = None,
            law: Law | None = None) -> DecisionTable:
    aca_applies, barred = aca_f.applies, tb_f.applies
    # the lawful-pathways presumption, unrebutted, bars asylum as the transit bar does
    asylum_barred = barred if clp_f is None else Clause(
        "pathway.asylum_barred", "asylum is barred by the transit bar or by the unrebutted "
        "lawful-pathways presumption", "8 CFR 208.13(c)(4); 8 CFR 208.33(a)",
        barred | clp_f.applies)
    judge = before_judge(law)
    invoked = fact("aca_invoked")
    # The partner reported is the first (in the agreements' order) that could receive them.
    reported, earlier = [], []
    for p, receives in aca_f.partners:
        first = IsTrue(receives)
        for e in earlier:
            first = first & ~IsTrue(e)
        reported.append((p, first))
        earlier.append(receives)
    no_fear_of_partner = any_of(*(
        first & IsTrue(fact(f"fear_of_receiving_country.{p}").eq(False)) for p, first in reported))
    rows = (
        ("uac_return_contiguous", contiguous_uac_return()),
        ("uac_section_240", Clause(
            "pathway.uac_section_240", "the person is an unaccompanied alien child, so not in "
            "expedited removal", "8 U.S.C. 1232(a)(5)(D); INA 208(b)(3)(C)",
            unaccompanied_alien_child())),
        ("no_fear_claim", Clause(
            "pathway.no_fear_claim", "the person expressed no fear of return and no intent to "
            "apply for asylum", "INA 235(b)(1)(A)(i); 8 CFR 235.3(b)(4)",
            ~fact("fear_claimed"))),
        ("aca_pretermitted", Clause(
            "pathway.aca_pretermitted", "before the judge, DHS moved to pretermit under an "
            "agreement that applies, and the respondent did not show persecution or torture in "
            "the partner more likely than not", "8 CFR 1240.11(h); Matter of C-I-G-M- & "
            "L-V-S-G-, 29 I&N Dec. 291 (BIA 2025)",
            judge & invoked & aca_applies & no_fear_of_partner)),
        ("aca_pretermission", Clause(
            "pathway.aca_pretermission", "before the judge, DHS moved to pretermit under an "
            "agreement that applies; the judge decides the bar before the merits, the "
            "respondent's showing about the partner still open", "8 CFR 1240.11(h); Matter of "
            "C-I-G-M- & L-V-S-G-, 29 I&N Dec. 291 (BIA 2025)", judge & invoked & aca_applies)),
        ("section_240_barred", Clause(
            "pathway.section_240_barred", "before the judge, no agreement bar; asylum barred: "
            "withholding and CAT only", "8 CFR 1208.13(c)(4); 8 CFR 1208.33",
            judge & asylum_barred)),
        ("section_240_asylum", Clause(
            "pathway.section_240_asylum", "before the judge, no agreement bar and asylum not "
            "barred: the merits", "INA 240; 8 CFR 1240.11(c)", judge)),
        ("aca_transfer", Clause(
            "pathway.aca_transfer", "the person is amenable to an agreement, DHS invoked it, and "
            "the threshold screening found no fear of the receiving country: removal there, "
            "unless the person voluntarily withdraws the asylum request",
            "8 CFR 208.30(e)(7)(i)(A)-(B)", aca_applies & invoked & no_fear_of_partner)),
        ("aca_threshold_screening", Clause(
            "pathway.aca_threshold_screening", "the person is amenable to an agreement and DHS "
            "invoked it; fear of the receiving country not yet decided", "8 CFR 208.30(e)(7)",
            aca_applies & invoked)),
        ("credible_fear_barred", Clause(
            "pathway.credible_fear_barred", "the transit bar (or the lawful-pathways "
            "presumption) applies: screening for withholding and CAT only",
            "8 CFR 208.30(e)(5)(iii); 8 CFR 208.33(b)(2)", asylum_barred)),
        ("credible_fear_asylum", Clause(
            "pathway.credible_fear_asylum", "neither the transit bar nor the lawful-pathways "
            "presumption applies: credible-fear screening with asylum available",
            "8 CFR 208.30(e)(2)-(3)", ~asylum_barred)),
    )
    return DecisionTable("pathway", rows)
