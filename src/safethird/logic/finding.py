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
    # clauses that do not decide the finding but, where they hold, add a flagged line to its
    # explanation (an open question of law the encoding had to take a side on)
    notes: tuple[Clause, ...] = ()

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


def pick(values: Sequence[str | None], index: pl.Expr) -> pl.Expr:
    """The value at ``index`` on each row. A chain of string-valued when/then materializes
    every branch's strings; a small integer per row and one gather costs a fraction of it."""
    return pl.lit(pl.Series(list(values), dtype=pl.String)).gather(index)


def _first_true(conditions: Sequence[pl.Expr], otherwise: pl.Expr) -> pl.Expr:
    """Per row, the position of the first condition that holds (else ``otherwise``)."""
    out: Any = otherwise
    for i in reversed(range(len(conditions))):
        out = pl.when(conditions[i]).then(pl.lit(i, dtype=pl.UInt32)).otherwise(out)
    return out


def finding_columns(f: Finding) -> list[pl.Expr]:
    """The same derivation over a table whose clause columns were added by evaluate_frame,
    with the citation of the reason given (``{name}.citation``)."""
    cols = [pl.col(f.column(r.code)) for r in f.reasons]
    any_holds = pl.any_horizontal(c.fill_null(False) for c in cols)
    all_fail = pl.all_horizontal((c == False).fill_null(False) for c in cols)  # noqa: E712
    n = len(f.reasons)
    reason = _first_true([c.fill_null(False) for c in cols] + [all_fail],
                         pl.lit(n + 1, dtype=pl.UInt32))
    codes = [r.code for r in f.reasons] + [f.applies_code, UNDETERMINED]
    citations = [f"{f.citation}; {r.clause.citation}" for r in f.reasons] \
        + [f"{f.citation}; {f.applies.citation}", None]
    status = _first_true([any_holds, all_fail], pl.lit(2, dtype=pl.UInt32))
    out = [pick([DOES_NOT_APPLY, APPLIES, UNKNOWN], status).alias(f"{f.name}.status"),
           pick(codes, reason).alias(f"{f.name}.reason"),
           pick(citations, reason).alias(f"{f.name}.citation")]
    if f.partners:
        partner = _first_true(
            [all_fail.not_()] + [pl.col(f"{f.name}.partner.{p}").fill_null(False)
                                 for p, _ in f.partners],
            pl.lit(0, dtype=pl.UInt32))
        out.append(pick([None, *(p for p, _ in f.partners)], partner)
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
    # the first row whose condition holds, or is still unknown (then: undetermined)
    conds = [pl.col(f"{t.name}.{code}") for code, _ in t.rows]
    index = _first_true([c.is_null() | c for c in conds], pl.lit(len(conds), dtype=pl.UInt32))
    first_unknown = _first_true([c.is_null() for c in conds], pl.lit(len(conds), dtype=pl.UInt32))
    codes = [code for code, _ in t.rows] + [UNDETERMINED]
    return pick(codes, pl.when(first_unknown == index).then(len(conds)).otherwise(index)
                .cast(pl.UInt32)).alias(t.name)


def outcomes(findings: Sequence[Finding], table: DecisionTable) -> dict[str, Expr]:
    nodes: dict[str, Expr] = {}
    for f in findings:
        nodes |= f.nodes()
    return nodes | table.nodes()
