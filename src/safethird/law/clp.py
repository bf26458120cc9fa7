"""8 CFR 208.33 and 1208.33: the Circumvention of Lawful Pathways rule (CLP).

Final rule, 88 FR 31314 (May 16, 2023), effective May 11, 2023; dates and litigation in
``law/data/rules/clp.yaml``. Read beside the regulation: legal effect (the rule stands: the
2023 vacatur never took effect and was itself vacated in 2025), then (a)(1) — who the
rebuttable presumption of ineligibility covers — then the exceptions of (a)(2), the rebuttal
grounds of (a)(3), and the continuing effect of (c) with its carve-out, in the order of the text.

The exceptions and rebuttal grounds hold "for the noncitizen or a member of the noncitizen's
family ... with whom the noncitizen is traveling" (208.33(a)(2)(ii), (a)(3)(i)): the facts
``parole_process_authorized``, ``arrival.scheduled_appointment``,
``could_not_use_scheduling_system`` and ``exceptionally_compelling`` are recorded for the person
or such a family member (CONTRACT.md section 5).

Effect (208.33(b)): in credible fear, an unrebutted presumption means no significant possibility
of asylum; the officer screens withholding and CAT at a "reasonable possibility" standard.
"""

from __future__ import annotations

from safethird.law.data import ClpLaw, Law
from safethird.law.dates import as_of_within
from safethird.law.transit_bar import third_country
from safethird.law.treaties import treaty_clause
from safethird.law.uac import unaccompanied_alien_child
from safethird.logic.expr import (
    AS_OF,
    UNKNOWN,
    AddYears,
    Clause,
    Const,
    any_leg,
    any_of,
    date,
    fact,
)
from safethird.logic.finding import Finding, Reason

PROVISION = "8 CFR 208.33; 8 CFR 1208.33"


def rule(law: Law) -> Finding:
    clp: ClpLaw = law.clp  # type: ignore[assignment]
    arrival = fact("arrival.date")
    start, end = clp.entries.from_, clp.entries.until

    # --- Legal effect ------------------------------------------------------------------------
    not_yet = Clause(
        "clp.rule_not_yet_in_effect",
        f"on the as-of date the rule had not yet taken effect ({clp.effective.from_})",
        "88 FR 31314 (DATES)", AS_OF.lt(date(clp.effective.from_)))
    vacated = Clause(
        "clp.rule_vacated", "on the as-of date a court order vacating the rule was in effect "
        "(the 2023 vacatur was stayed, then itself vacated in 2025: none is)",
        "East Bay Sanctuary Covenant v. Biden, 9th Cir. No. 23-16032",
        any_of(*(as_of_within(v) for v in clp.vacated)))

    # --- (a)(1): who the presumption covers -------------------------------------------------
    before = Clause(
        "clp.entered_before_window",
        f"the person entered before the Title 42 orders ended (11:59 p.m. EDT, "
        f"{clp.title42_ended_day}) — an entry that day is covered only if after that minute",
        "8 CFR 208.33(a)(1)(i)-(ii)",
        arrival.lt(date(start)) | (arrival.eq(date(clp.title42_ended_day)) & UNKNOWN))
    after = Clause(
        "clp.entered_after_window",
        f"the person entered after the covered period ended ({end} onward)",
        "8 CFR 208.33(a)(1)(i) (\"between May 11, 2023, and May 11, 2025\")",
        arrival.ge(date(end)) if end else Const(False, "bool"))
    border = fact("arrival.border")
    southwest = Clause(
        "clp.not_southwest_border",
        "the person did not enter from Mexico at the southwest land border or adjacent coastal "
        "borders (a sea arrival may or may not be at an adjacent coastal border)",
        "8 CFR 208.33(a)(1)",
        ~border.eq("southern_land") & (border.eq("sea") & UNKNOWN | ~border.eq("sea")))
    documents = Clause(
        "clp.entry_documents",
        "the person entered with documents sufficient for lawful admission (INA 212(a)(7)): a "
        "valid visa or other valid admission document",
        "8 CFR 208.33(a)(1)",
        fact("admission_document").isin(["valid_visa", "other_valid_admission_document"]))
    party = treaty_clause(
        law, clp.treaty_instruments, "clp.transit_country_nonparty",
        "the transit country was party to neither the 1951 Convention nor the 1967 Protocol "
        "at the time of transit", "8 CFR 208.33(a)(1)(iii)")
    no_transit = Clause(
        "clp.no_party_transit",
        "the person travelled through no country, other than their country of citizenship, "
        "nationality or (if stateless) last habitual residence, that is party to the 1951 "
        "Convention or the 1967 Protocol (the Convention against Torture does not count)",
        "8 CFR 208.33(a)(1)(iii)", ~any_leg(third_country() & ~party))

    # --- (a)(2): exceptions to the presumption ----------------------------------------------
    uac = Clause("clp.exception_unaccompanied_child",
                 "the person was an unaccompanied alien child at the time of entry",
                 "8 CFR 208.33(a)(2)(i); 6 U.S.C. 279(g)(2)", unaccompanied_alien_child())
    parole = Clause(
        "clp.exception_parole_process",
        "the person or a travelling family member was authorised to travel to the US to seek "
        "parole under a DHS-approved parole process", "8 CFR 208.33(a)(2)(ii)(A)",
        fact("parole_process_authorized"))
    appointment = Clause(
        "clp.exception_scheduled_appointment",
        "the person or a travelling family member presented at a port of entry at a "
        "pre-scheduled time and place, or showed that the scheduling system could not be "
        "accessed or used (language barrier, illiteracy, significant technical failure, other "
        "ongoing serious obstacle)", "8 CFR 208.33(a)(2)(ii)(B)",
        fact("arrival.scheduled_appointment") | fact("could_not_use_scheduling_system"))
    denied = Clause(
        "clp.exception_denied_protection",
        "the person or a travelling family member sought asylum or other protection in a "
        "transit country and received a final decision denying it (an abandoned claim does "
        "not count)", "8 CFR 208.33(a)(2)(ii)(C)",
        any_leg(third_country() & fact("route[].protection_claim").eq("denied_final")))

    # --- (a)(3): rebuttal by exceptionally compelling circumstances --------------------------
    compelling = fact("exceptionally_compelling")
    medical = Clause("clp.rebutted_acute_medical_emergency",
                     "at the time of entry the person or a travelling family member faced an "
                     "acute medical emergency", "8 CFR 208.33(a)(3)(i)(A)",
                     compelling.eq("acute_medical_emergency"))
    threat = Clause("clp.rebutted_imminent_extreme_threat",
                    "at the time of entry the person or a travelling family member faced an "
                    "imminent and extreme threat to life or safety", "8 CFR 208.33(a)(3)(i)(B)",
                    compelling.eq("imminent_extreme_threat"))
    trafficking = Clause("clp.rebutted_trafficking_victim",
                         "the person or a travelling family member was a victim of a severe "
                         "form of trafficking in persons", "8 CFR 208.33(a)(3)(i)(C)",
                         compelling.eq("trafficking_victim") | fact("trafficking_victim"))
    other = Clause("clp.rebutted_other",
                   "the adjudicator found other exceptionally compelling circumstances",
                   "8 CFR 208.33(a)(3)(i) (\"including\")", compelling.eq("other"))

    # --- (c): continuing effect, with its carve-out ------------------------------------------
    # The presumption governs any later asylum application by a covered entrant, whenever
    # filed, except one filed after May 11, 2025 by a principal applicant under 18 at entry.
    # Neither the filing date nor the principal role is a case fact: for a child entrant the
    # carve-out stays unknown once that date has passed.
    minor_at_entry = AddYears(fact("birth_date"), 18).gt(arrival)
    carve_out = Clause(
        "clp.minor_principal_after_window",
        f"the person was under 18 at entry and applies as a principal applicant after "
        f"{clp.continuing_effect.minor_filed_after} (filing date and role not in the facts)",
        "8 CFR 208.33(c)",
        AS_OF.gt(date(clp.continuing_effect.minor_filed_after)) & minor_at_entry & UNKNOWN)

    reasons = (
        Reason("rule_not_yet_in_effect", not_yet),
        Reason("rule_vacated", vacated),
        Reason("entered_before_window", before),
        Reason("entered_after_window", after),
        Reason("not_southwest_border", southwest),
        Reason("entry_documents", documents),
        Reason("no_party_transit", no_transit),
        Reason("exception_unaccompanied_child", uac),
        Reason("exception_parole_process", parole),
        Reason("exception_scheduled_appointment", appointment),
        Reason("exception_denied_protection", denied),
        Reason("rebutted_acute_medical_emergency", medical),
        Reason("rebutted_imminent_extreme_threat", threat),
        Reason("rebutted_trafficking_victim", trafficking),
        Reason("rebutted_other", other),
        Reason("minor_principal_after_window", carve_out),
    )
    presumption = Clause(
        "clp.presumption_applies",
        "the person entered from Mexico at the southwest border without entry documents in the "
        "covered period, after travelling through a party to the 1951 Convention or 1967 "
        "Protocol, and no exception or rebuttal ground holds: presumed ineligible for asylum, "
        "whenever the application is filed", "8 CFR 208.33(a)(1), (c)",
        ~any_of(*(r.clause for r in reasons)))
    return Finding("clp", PROVISION, reasons, presumption)
