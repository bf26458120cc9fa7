"""Party status to the refugee and torture treaties at a date, as law-data look-ups.

"Party ... at the time of the transit" (8 CFR 208.13(c)(4)(iii)) is read as the treaty being in
force for that State (Vienna Convention art. 2(1)(g)); the variant ``party-from-deposit`` reads
it as the date the instrument was deposited. A date known only to the year or month gives an
interval, inside which the status is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

from safethird.law.data import Law
from safethird.logic.expr import Clause, Either, Expr, Lookup, fact


def party_tables(law: Law, instruments: Sequence[str]) -> tuple[dict, dict]:
    """(E, L) by country: certainly party to none before E; certainly party to one from L."""
    earliest, latest = {}, {}
    for alpha2 in law.countries:
        e, lo = law.party_window(alpha2, instruments)
        earliest[alpha2], latest[alpha2] = e, lo
    return earliest, latest


def nonparty_during_leg(law: Law, instruments: Sequence[str], label: str) -> Expr:
    """The leg's country was party to none of ``instruments`` on any day of the transit.

    The transit ended on the day the person left (``route[].left``), and no later than the
    arrival in the US, so a country that became party only after either day was not a party
    then; a country already party on the day the person entered or left was (or, for Mexico
    before a southern land crossing, on the day of arrival)."""
    e_table, l_table = party_tables(law, instruments)
    country = fact("route[].country")
    party_none_until = Lookup(f"party_none_until[{label}]", e_table, country, "date")
    party_since = Lookup(f"party_since[{label}]", l_table, country, "date")
    left, entered, arrived = fact("route[].left"), fact("route[].entered"), fact("arrival.date")
    surely_not_party = left.lt(party_none_until) | arrived.lt(party_none_until)
    # the southern land border is the land border with Mexico (85 FR 82260): whoever crossed it
    # was in Mexico on the day of arrival, so a Mexican leg lasted until then
    crossed_from_mexico = country.eq("MX") & fact("arrival.border").eq("southern_land")
    surely_party = left.ge(party_since) | entered.ge(party_since) | (
        crossed_from_mexico & arrived.ge(party_since))
    # settled as soon as either side is shown; otherwise the status on those days is unknown
    # (the two sides exclude each other: a leg entered after joining cannot end before it)
    return Either(surely_not_party, surely_party)


def treaty_clause(law: Law, instruments: Sequence[str], cid: str, text: str,
                  citation: str) -> Clause:
    return Clause(cid, text, citation, nonparty_during_leg(law, instruments, cid))
