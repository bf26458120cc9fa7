"""The procedure: how the findings become a procedural pathway.

The pathway follows the order of the procedure in expedited removal (8 CFR 208.30): an
unaccompanied child is not in expedited removal at all; without a fear claim there is no
screening; the ACA threshold screening comes "prior to any determination concerning whether the
alien has a credible fear" (208.30(e)(7)); then credible fear, where the transit bar sends the
person to the reasonable-fear standard (208.30(e)(5)(iii)).

The agreement is a choice DHS makes case by case: 208.30(e)(7) begins only when the officer finds
the person "appears to be subject to" an agreement "and seeks the alien's removal" under it. So
the ACA pathways require both the finding (the person is amenable) and the fact ``aca_invoked``;
without the second, the case goes on to credible fear as if no agreement applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from safethird.law.uac import unaccompanied_alien_child
from safethird.logic.expr import Clause, IsTrue, Overlaps, any_of, fact
from safethird.logic.finding import DecisionTable, Finding

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
    "undetermined": "depends on unknown facts",
}

# 8 U.S.C. 1232(a)(2): the countries contiguous with the United States
CONTIGUOUS = ("CA", "MX")


@dataclass(frozen=True)
class AuthorityDecision:
    """A decision of an authority the pathway turns on: not a fact about the person to ask,
    but a branch the explanation states both ways."""

    fact: str
    finding: str  # the finding whose explanation carries the branches
    if_true: str
    if_false: str
    citation: str


AUTHORITY_DECISIONS = (
    AuthorityDecision("aca_invoked", "aca", "if DHS invokes the agreement",
                      "if DHS does not (it may use other processes instead)",
                      "8 CFR 208.30(e)(7) (\"seeks the alien's removal\" under an agreement)"),
)


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


def pathway(aca_f: Finding, tb_f: Finding) -> DecisionTable:
    aca_applies, barred = aca_f.applies, tb_f.applies
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
    invoked = fact("aca_invoked")
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
            "pathway.credible_fear_barred", "the transit bar applies: reasonable-fear screening "
            "for withholding and CAT only", "8 CFR 208.30(e)(5)(iii)", barred)),
        ("credible_fear_asylum", Clause(
            "pathway.credible_fear_asylum", "the transit bar does not apply: credible-fear "
            "screening with asylum available", "8 CFR 208.30(e)(2)-(3)", ~barred)),
    )
    return DecisionTable("pathway", rows)
