"""Scenario overlays on the law: an agreement operated by the US for chosen nationalities,
groups and states (e.g. the Honduras agreement), written as a changed ``Law`` — the rules stay
the same, only their data changes (as the ``law-in-force`` variant does)."""

from __future__ import annotations

from functools import cache

from safethird.flow.scenario import Operation, Scenario
from safethird.law.data import AppliesFrom, Law, OperationPhase, load_law


def operate(law: Law, op: Operation) -> Law:
    """The law with ``op`` as the (only) operation phase of the partner's agreement."""
    agreements = []
    for a in law.agreements:
        if a.partner != op.partner:
            agreements.append(a)
            continue
        sources = a.applies_to_arrivals.sources
        phase = OperationPhase.model_validate({
            "from": op.from_, "until": op.until, "nationalities": op.nationalities,
            "groups": op.groups, "arrival_states": op.arrival_states, "sources": sources,
            "confidence": "to_verify", "note": f"scenario overlay: {op.note}"})
        update: dict = {"operation": (phase,)}
        if op.applies_to_arrivals_from is not None:
            update["applies_to_arrivals"] = AppliesFrom.model_validate({
                "from": op.applies_to_arrivals_from, "sources": sources,
                "confidence": "to_verify",
                "note": f"scenario overlay (counterfactual date): {op.note}"})
        agreements.append(a.model_copy(update=update))
    # the overlay's name goes into the law version, as a variant's does (rules are cached by it)
    tag = (f"operate:{op.partner}:{op.from_}:{op.until}:{','.join(op.nationalities or ())}:"
           f"{','.join(op.groups)}:{','.join(op.arrival_states or ())}:"
           f"{op.applies_to_arrivals_from}")
    return law.with_(agreements=tuple(agreements), variants=(*law.variants, tag))


@cache
def _law(ops: tuple[Operation, ...]) -> Law:
    law = load_law()
    for op in ops:
        law = operate(law, op)
    return law


def scenario_law(sc: Scenario) -> tuple[Law, tuple[str, ...]]:
    """The law the scenario decides with, and its policy variants."""
    return _law(sc.law.operate), sc.law.variants
