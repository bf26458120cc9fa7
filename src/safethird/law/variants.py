"""Policy variants: named changes to the law data or to a rule, applied on request.

The law as written (and as operated) is the default. A variant never edits files: it returns a
changed copy of the law, and its name goes into the law version of every determination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from safethird.law.data import Law, OperationPhase


@dataclass(frozen=True)
class Variant:
    name: str
    summary: str
    source: str
    apply: Callable[[Law], Law]


def _transit_required(law: Law) -> Law:
    return law.with_(aca_requires_transit=True)


def _party_from_deposit(law: Law) -> Law:
    return law.with_(party_from="deposit")


def _law_in_force(law: Law) -> Law:
    agreements = []
    for a in law.agreements:
        if a.in_force_from is None:  # never known to be in force
            agreements.append(a.model_copy(update={"operation": ()}))
            continue
        phase = OperationPhase.model_validate({
            "from": a.in_force_from, "until": a.in_force_until,
            "nationalities": None, "arrival_states": None,
            "sources": a.applies_to_arrivals.sources, "confidence": "to_verify",
            "note": "variant law-in-force: applied to everyone whenever in force"})
        agreements.append(a.model_copy(update={"operation": (phase,)}))
    return law.with_(agreements=tuple(agreements))


def _mexicans_amenable(law: Law) -> Law:
    day = dt.date(2020, 1, 4)
    agreements = []
    for a in law.agreements:
        if a.partner != "GT":
            agreements.append(a)
            continue
        phases = []
        for p in a.operation:
            if p.until is not None and p.until <= day:
                phases.append(p)
                continue
            if p.from_ < day:
                phases.append(p.model_copy(update={"until": day}))
            phases.append(p.model_copy(update={
                "from_": max(p.from_, day),
                "nationalities": (*(p.nationalities or ()), "MX"),
                "sources": (*p.sources, "reuters-2020-01-07")}))
        agreements.append(a.model_copy(update={"operation": tuple(phases)}))
    return law.with_(agreements=tuple(agreements))


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("transit-required",
            "An agreement sends a person only to a partner they passed through en route (the "
            "reading of the agreements in the 2019 press coverage: people who 'had an "
            "opportunity to seek protection' there). Adds the reason partner_not_transited.",
            "press coverage (WaPo Oct. 28, 2019; AP Nov. 21, 2019); not in 8 CFR 208.30(e)(7)",
            _transit_required),
    Variant("law-in-force",
            "Every agreement applies to everyone from the first arrival date it covers until it "
            "was suspended, as the rule allowed, whether or not the US operated it.",
            "8 CFR 208.30(e)(7); the agreements' Federal Register notices",
            _law_in_force),
    Variant("mexicans-amenable",
            "Mexican nationals in the Guatemala agreement's operation from 2020-01-04, as USCIS "
            "told its staff (none was transferred; Guatemala disputed it).",
            "Reuters, Jan. 7, 2020", _mexicans_amenable),
    Variant("party-from-deposit",
            "A country counts as party to a treaty from the day it deposited its instrument, not "
            "from the treaty's entry into force for it (30 days later for the Convention against "
            "Torture, 90 for the 1951 Convention).",
            "8 CFR 208.13(c)(4)(iii) leaves 'party' undefined", _party_from_deposit),
]}


class UnknownVariant(ValueError):
    pass


def parse_variants(variant: str | Iterable[str] | None) -> tuple[str, ...]:
    if variant is None:
        return ()
    names = variant.split(",") if isinstance(variant, str) else list(variant)
    out = tuple(n.strip() for n in names if n.strip())
    for n in out:
        if n not in VARIANTS:
            raise UnknownVariant(f"unknown variant {n!r} (known: {', '.join(VARIANTS)})")
    return out


def apply_variants(law: Law, variant: str | Iterable[str] | None) -> Law:
    names = parse_variants(variant)
    for n in names:
        law = VARIANTS[n].apply(law)
    return law.with_(variants=law.variants + names) if names else law
