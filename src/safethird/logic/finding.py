"""Findings and decision tables: how clause values become a status, a reason and a pathway.

A *finding* is a default ("the bar applies") defeated by an ordered list of reasons (the rule's
own conditions of legal effect and scope, then its exceptions, in the provision's order). Its
status is ``does_not_apply`` when some reason holds, ``applies`` when every reason is known not
to hold, else ``unknown``. The reason reported is the first one that holds, in that order.

A *decision table* (the pathway) is an ordered list of (condition, outcome): the first condition
that holds wins; a condition still unknown before it leaves the outcome ``undetermined``.

Both are derived the same way per case (``*_value``) and for a table (``*_column``); the property
test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from safethird.logic.expr import Clause, Expr

APPLIES, DOES_NOT_APPLY, UNKNOWN = "applies", "does_not_apply", "unknown"
UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Reason:
    code: str
    clause: Clause  # true = the finding does not apply, for this reason
    # the part of the clause an explanation should show (its facts and sub-clauses), when the
    # clause itself is built from earlier stages
    shows: Expr | None = None


@dataclass(frozen=True)
class Finding:
    name: str
    citation: str
    reasons: tuple[Reason, ...]
    applies: Clause  # the default's text and citation (its expr is "no reason holds")
    # (partner, clause "would be received by this partner") in the agreements' order
    partners: tuple[tuple[str, Clause], ...] = ()

    def column(self, code: str) -> str:
        return f"{self.name}.{code}"

    def nodes(self) -> dict[str, Expr]:
        out: dict[str, Expr] = {self.column(r.code): r.clause for r in self.reasons}
        out[self.column(self.applies_code)] = self.applies
        out |= {f"{self.name}.partner.{p}": c for p, c in self.partners}
        return out

    @property
    def applies_code(self) -> str:
        return self.applies.id.rsplit(".", 1)[-1]


def finding_value(f: Finding, values: Mapping[str, Any]) -> dict[str, Any]:
    """status / reason / partner from the clause values of one case (keyed like ``nodes``)."""
    reasons = [(r.code, values[f.column(r.code)]) for r in f.reasons]
    holding = [code for code, v in reasons if v is True]
    if holding:
        return {"status": DOES_NOT_APPLY, "reason": holding[0], "partner": None}
    if all(v is False for _, v in reasons):
        partner = next((p for p, _ in f.partners if values[f"{f.name}.partner.{p}"] is True),
                       None)
        return {"status": APPLIES, "reason": f.applies_code, "partner": partner}
    return {"status": UNKNOWN, "reason": UNDETERMINED, "partner": None}


def finding_columns(f: Finding) -> list[pl.Expr]:
    """The same derivation over a table whose clause columns were added by evaluate_frame."""
    cols = [pl.col(f.column(r.code)) for r in f.reasons]
    any_holds = pl.any_horizontal(c.fill_null(False) for c in cols)
    all_fail = pl.all_horizontal((c == False).fill_null(False) for c in cols)  # noqa: E712
    reason = pl.when(cols[0].fill_null(False)).then(pl.lit(f.reasons[0].code))
    for r, c in zip(f.reasons[1:], cols[1:], strict=True):
        reason = reason.when(c.fill_null(False)).then(pl.lit(r.code))
    reason = reason.when(all_fail).then(pl.lit(f.applies_code)).otherwise(pl.lit(UNDETERMINED))
    status = (pl.when(any_holds).then(pl.lit(DOES_NOT_APPLY))
              .when(all_fail).then(pl.lit(APPLIES)).otherwise(pl.lit(UNKNOWN)))
    out = [status.alias(f"{f.name}.status"), reason.alias(f"{f.name}.reason")]
    if f.partners:
        partner: Any = pl.lit(None, dtype=pl.String)
        for p, _ in reversed(f.partners):
            partner = pl.when(pl.col(f"{f.name}.partner.{p}").fill_null(False)).then(
                pl.lit(p)).otherwise(partner)
        out.append(pl.when(all_fail).then(partner).otherwise(pl.lit(None, dtype=pl.String))
                   .alias(f"{f.name}.partner"))
    return out


@dataclass(frozen=True)
class DecisionTable:
    name: str
    rows: tuple[tuple[str, Clause], ...]  # (outcome, condition) in order
    extra: dict[str, Expr] = field(default_factory=dict)

    def nodes(self) -> dict[str, Expr]:
        return {f"{self.name}.{code}": clause for code, clause in self.rows}


def table_value(t: DecisionTable, values: Mapping[str, Any]) -> str:
    for code, _ in t.rows:
        v = values[f"{t.name}.{code}"]
        if v is None:
            return UNDETERMINED
        if v:
            return code
    return UNDETERMINED


def table_column(t: DecisionTable) -> pl.Expr:
    expr: Any = pl.lit(UNDETERMINED)
    for code, _ in reversed(t.rows):
        c = pl.col(f"{t.name}.{code}")
        expr = pl.when(c.is_null()).then(pl.lit(UNDETERMINED)).when(c).then(pl.lit(code)) \
            .otherwise(expr)
    return expr.alias(t.name)


def outcomes(findings: Sequence[Finding], table: DecisionTable) -> dict[str, Expr]:
    nodes: dict[str, Expr] = {}
    for f in findings:
        nodes |= f.nodes()
    return nodes | table.nodes()
