"""The procedure: how the findings become a procedural pathway.

The pathway follows the order of the procedure in expedited removal (8 CFR 208.30): an
unaccompanied child is not in expedited removal at all; without a fear claim there is no
screening; the ACA threshold screening comes "prior to any determination concerning whether the
alien has a credible fear" (208.30(e)(7)); then credible fear, where the transit bar sends the
person to the reasonable-fear standard (208.30(e)(5)(iii)).
"""

from __future__ import annotations

from safethird.law.uac import unaccompanied_alien_child
from safethird.logic.expr import Clause, IsTrue, any_of, fact
from safethird.logic.finding import DecisionTable, Finding

PATHWAYS = {
    "uac_section_240": "unaccompanied child: not in expedited removal; section 240 removal "
                       "proceedings, USCIS initial jurisdiction over asylum "
                       "(8 U.S.C. 1232(a)(5)(D); INA 208(b)(3)(C))",
    "no_fear_claim": "no fear claimed: ordinary expedited removal (INA 235(b)(1)(A)(i))",
    "aca_transfer": "removal to the partner under an agreement: the threshold screening found "
                    "no fear of the partner (8 CFR 208.30(e)(7)(i))",
    "aca_threshold_screening": "subject to an agreement; the threshold screening on fear of the "
                               "partner is still open (8 CFR 208.30(e)(7))",
    "credible_fear_barred": "asylum barred by the transit bar: screened for withholding of "
                            "removal and CAT protection at the reasonable-fear standard "
                            "(8 CFR 208.30(e)(5)(iii))",
    "credible_fear_asylum": "credible fear screening with asylum available (8 CFR 208.30(e))",
    "undetermined": "depends on unknown facts",
}



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
    rows = (
        ("uac_section_240", Clause(
            "pathway.uac_section_240", "the person is an unaccompanied alien child, so not in "
            "expedited removal", "8 U.S.C. 1232(a)(5)(D); INA 208(b)(3)(C)",
            unaccompanied_alien_child())),
        ("no_fear_claim", Clause(
            "pathway.no_fear_claim", "the person expressed no fear of return and no intent to "
            "apply for asylum", "INA 235(b)(1)(A)(i); 8 CFR 235.3(b)(4)",
            ~fact("fear_claimed"))),
        ("aca_transfer", Clause(
            "pathway.aca_transfer", "an agreement applies and the threshold screening found no "
            "fear of the receiving country", "8 CFR 208.30(e)(7)(i)",
            aca_applies & no_fear_of_partner)),
        ("aca_threshold_screening", Clause(
            "pathway.aca_threshold_screening", "an agreement applies; fear of the receiving "
            "country not yet decided", "8 CFR 208.30(e)(7)", aca_applies)),
        ("credible_fear_barred", Clause(
            "pathway.credible_fear_barred", "the transit bar applies: reasonable-fear screening "
            "for withholding and CAT only", "8 CFR 208.30(e)(5)(iii)", barred)),
        ("credible_fear_asylum", Clause(
            "pathway.credible_fear_asylum", "the transit bar does not apply: credible-fear "
            "screening with asylum available", "8 CFR 208.30(e)(2)-(3)", ~barred)),
    )
    return DecisionTable("pathway", rows)
