"""8 CFR 208.13(c)(4) and 1208.13(c)(4): the third-country transit bar.

Interim final rule, 84 FR 33829 (July 16, 2019); final rule, 85 FR 82260 (Dec. 17, 2020). Read
beside the regulation: first when the rule had legal effect (its versions and the court orders,
from ``law/data/rules/transit-bar.yaml``), then the lead-in of (c)(4) — who is covered — then
exceptions (i), (ii) and (iii) in the order of the text.
"""

from __future__ import annotations

import datetime as dt

from safethird.law.circuits import STATE_CIRCUIT
from safethird.law.data import Law
from safethird.law.dates import as_of_within
from safethird.law.entry import arrived_on_or_after
from safethird.law.geography import southern_land_arrival
from safethird.law.treaties import treaty_clause
from safethird.logic.expr import (
    AS_OF,
    Clause,
    Const,
    Contains,
    Expr,
    Lookup,
    all_legs,
    any_leg,
    any_of,
    date,
    fact,
)
from safethird.logic.finding import Finding, Reason

PROVISION = "8 CFR 208.13(c)(4); 8 CFR 1208.13(c)(4)"


def third_country(leg_country: Expr | None = None) -> Expr:
    """A transit country outside the person's citizenship, nationality or last lawful
    habitual residence (lead-in of (c)(4))."""
    country = leg_country or fact("route[].country")
    return ~Contains(fact("nationalities"), country) & ~country.eq(
        fact("last_habitual_residence"))


def rule(law: Law) -> Finding:
    tb = law.transit_bar
    ifr, final = (next(v for v in tb.versions if v.id == i) for i in ("ifr-2019", "final-2020"))
    starts = tb.applies_to_entries.from_

    # --- Legal effect: which version was in force on the as-of date, and where -----------
    not_yet = Clause(
        "transit_bar.rule_not_yet_in_effect",
        f"on the as-of date the rule had not yet taken effect (it took effect {starts})",
        ifr.citation, AS_OF.lt(date(starts)))
    vacated = Clause(
        "transit_bar.rule_vacated",
        "on the as-of date the rule had been vacated and no later version was yet in force",
        "; ".join(v.order for v in tb.vacated),
        any_of(*(as_of_within(v) for v in tb.vacated)))
    circuit = Lookup("circuit", STATE_CIRCUIT, fact("arrival.state"), "str")
    orders = []
    for o in tb.court_orders:
        if o.scope.kind == "nationwide":
            where: Expr | None = None
        elif o.scope.kind == "circuits":
            where = circuit.isin(o.scope.circuits)
        else:  # the Al Otro Lado class: non-Mexican asylum seekers metered before the rule
            where = fact("metered_before_2019_07_16") & ~Contains(
                fact("nationalities"), Const("MX"))
        covers = {"nationwide": "nationwide",
                  "circuits": f"in the federal circuit(s) {', '.join(o.scope.circuits)}",
                  "metering_class": "for members of the class"}[o.scope.kind]
        # an order binds only the version of the rule it was made against
        version = next(v for v in tb.versions if v.id == o.version)
        where = as_of_within(version) if where is None else as_of_within(version) & where
        in_force = as_of_within(o)
        for stay in o.stayed:  # while a stay held, the order did not bar the rule
            in_force = in_force & ~as_of_within(stay)
        stays = "".join(f"; stayed {s.from_} to {s.until or 'no end found'}" for s in o.stayed)
        orders.append(Clause(f"transit_bar.court_order.{o.id}",
                             f"this order was in force on the as-of date ({o.from_} to "
                             f"{o.until or 'no end found'}{stays}, {covers}) and covers this "
                             f"person", o.order, in_force & where))
    enjoined = Clause(
        "transit_bar.rule_enjoined",
        "on the as-of date a court order barred applying the rule to this person "
        "(where they arrived: the federal circuit of the border state)",
        "8 CFR 208.13(c)(4); the court orders below", any_of(*orders))

    # --- (c)(4) lead-in: who is covered --------------------------------------------------
    before_rule = Clause(
        "transit_bar.entered_before_rule",
        f"the person entered, attempted to enter or arrived before {starts}",
        "8 CFR 208.13(c)(4) (\"on or after July 16, 2019\")",
        ~arrived_on_or_after(starts))
    southern = southern_land_arrival()
    not_southern = Clause(
        "transit_bar.not_southern_land_border",
        "the person did not enter, attempt to enter or arrive across the southern land border "
        "(the land border between the United States and Mexico)",
        "8 CFR 208.13(c)(4); 85 FR 82260 (definition of southern land border)", ~southern)
    third = Clause(
        "transit_bar.transited_third_country",
        "a transit country outside the person's country of citizenship, nationality or last "
        "lawful habitual residence", "8 CFR 208.13(c)(4)", third_country())
    # Whoever crossed the land border with Mexico was in Mexico just before: unless Mexico is a
    # nationality or the last lawful habitual residence, they transited it, whatever the route
    # lists (an empty route that contradicts the crossing is not "no transit").
    through_mexico = Clause(
        "transit_bar.transited_mexico",
        "the person crossed the southern land border, so was in Mexico en route, and Mexico is "
        "neither a nationality nor the last lawful habitual residence (if Mexico is missing from "
        "the route, add it: a protection claim there counts only once its leg is listed, since "
        "the person must demonstrate it under (c)(4)(i))",
        "8 CFR 208.13(c)(4); 85 FR 82260 (southern land border: the border with Mexico)",
        southern & third_country(Const("MX")))
    no_transit = Clause(
        "transit_bar.no_third_country_transit",
        "en route to the United States the person transited no country outside their country of "
        "citizenship, nationality or last lawful habitual residence",
        "8 CFR 208.13(c)(4)", ~(any_leg(third) | through_mexico))

    # --- (c)(4)(i): applied for protection in a transit country and was finally denied ----
    exc_i = Clause(
        "transit_bar.exception_denied_protection",
        "the person applied for protection in at least one such transit country and received a "
        "final judgment denying it (a pending, withdrawn or not-yet-final claim does not count)",
        "8 CFR 208.13(c)(4)(i)",
        any_leg(third & fact("route[].protection_claim").eq("denied_final")))

    # --- (c)(4)(ii): victim of a severe form of trafficking in persons --------------------
    exc_ii = Clause(
        "transit_bar.exception_trafficking_victim",
        "the person is a victim of a severe form of trafficking in persons (8 CFR 214.11)",
        "8 CFR 208.13(c)(4)(ii)", fact("trafficking_victim"))

    # --- (c)(4)(iii): transited only countries party to none of the treaties --------------
    # The interim rule lists the 1951 Convention, the 1967 Protocol and the Convention against
    # Torture; the final rule dropped the Convention against Torture.
    nonparty_ifr = treaty_clause(
        law, ifr.exception_iii_instruments, "transit_bar.nonparty.ifr-2019",
        ifr.exception_iii_text, "8 CFR 208.13(c)(4)(iii) (84 FR 33829)")
    nonparty_final = treaty_clause(
        law, final.exception_iii_instruments, "transit_bar.nonparty.final-2020",
        final.exception_iii_text, "8 CFR 208.13(c)(4)(iii) (85 FR 82260)")
    nonparty = (as_of_within(ifr) & nonparty_ifr) | (as_of_within(final) & nonparty_final)
    # Mexico when it is not listed but was transited (see through_mexico): in Mexico on the day
    # of arrival, so party or not on that day
    arrived = fact("arrival.date")
    mexico_nonparty = any_of(*(
        as_of_within(v) & arrived.lt(date(e)) for v in (ifr, final)
        if (e := law.party_window("MX", v.exception_iii_instruments)[0]) is not None
        and e < dt.date.max))
    unlisted_mexico_ok = ~through_mexico | any_leg(fact("route[].country").eq("MX")) \
        | mexico_nonparty
    exc_iii = Clause(
        "transit_bar.exception_nonparty_transit_only",
        "every country the person transited (outside nationality and last lawful habitual "
        "residence) was, at the time of transit, party to none of the treaties the version of "
        "the rule in force lists", "8 CFR 208.13(c)(4)(iii)",
        all_legs(~third_country() | nonparty) & unlisted_mexico_ok)

    reasons = (
        Reason("rule_not_yet_in_effect", not_yet),
        Reason("rule_vacated", vacated),
        Reason("rule_enjoined", enjoined),
        Reason("entered_before_rule", before_rule),
        Reason("not_southern_land_border", not_southern),
        Reason("no_third_country_transit", no_transit),
        Reason("exception_denied_protection", exc_i),
        Reason("exception_trafficking_victim", exc_ii),
        Reason("exception_nonparty_transit_only", exc_iii),
    )
    barred = Clause(
        "transit_bar.barred",
        "the person crossed the southern land border on or after July 16, 2019 after transiting a "
        "third country, and no exception applies: ineligible for asylum",
        "8 CFR 208.13(c)(4)", ~any_of(*(r.clause for r in reasons)))
    # Open questions the law data records: flagged in the explanation where they apply.
    notes = []
    for q in tb.open_questions:
        if q.id == "final-rule-entries-during-vacatur":
            v = tb.vacated[0]
            entered_then = arrived_on_or_after(v.from_) & ~arrived_on_or_after(v.until)
            notes.append(Clause(f"transit_bar.open.{q.id}", q.text,
                                "8 CFR 208.13(c)(4) (85 FR 82260); open question",
                                as_of_within(final) & entered_then))
    return Finding("transit_bar", PROVISION, reasons, barred, notes=tuple(notes))
