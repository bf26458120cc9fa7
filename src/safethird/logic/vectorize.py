"""Compile rule trees to Polars expressions: the same rules over a whole table.

Polars' boolean ``&``, ``|`` and ``~`` already follow Kleene logic on nulls, comparisons with a
null give null, and ``any``/``all`` with ``ignore_nulls=False`` are Kleene quantifiers, so each
node maps onto one Polars expression. Quantifiers over the route are computed once per table on
the exploded legs and joined back by row.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from safethird import facts
from safethird.logic.expr import (
    And,
    Clause,
    Compare,
    Const,
    Contains,
    Expr,
    Fact,
    In,
    IsEmpty,
    IsTrue,
    Lookup,
    Not,
    Or,
    Overlaps,
    Param,
    Quantifier,
)

ROW = "__case_index"
LEG_FIELDS = [f.name for f in facts.LEG_DTYPE.fields]
_DTYPES: dict[str, pl.DataType] = {
    "bool": pl.Boolean(), "date": pl.Date(), "country": pl.String(), "state": pl.String(),
    "enum": pl.String(), "countries": pl.List(pl.String), "str": pl.String(),
}


def _dtype_of_const(c: Const) -> pl.DataType:
    if c.kind:
        return _DTYPES[c.kind]
    if isinstance(c.value, bool):
        return pl.Boolean()
    return pl.String()


class Compiler:
    def __init__(self, columns: set[str]):
        self.columns = columns

    def fact_column(self, path: str) -> pl.Expr:
        if path in self.columns:
            return pl.col(path)
        # a fact with no column in the table is unknown on every row
        return pl.lit(None, dtype=_DTYPES[facts.spec(path).kind])

    def __call__(self, node: Expr) -> pl.Expr:
        c = self
        match node:
            case Const(value=value):
                return pl.lit(value, dtype=_dtype_of_const(node))
            case Param():
                return pl.col("as_of")
            case Fact(path=path) if node.is_leg:
                return pl.col(path)
            case Fact(path=path):
                return self.fact_column(path)
            case Clause(expr=expr):
                return c(expr)
            case And(args=args):
                out = c(args[0])
                for a in args[1:]:
                    out = out & c(a)
                return out
            case Or(args=args):
                out = c(args[0])
                for a in args[1:]:
                    out = out | c(a)
                return out
            case Not(arg=arg):
                return ~c(arg)
            case IsTrue(arg=arg):
                return c(arg).fill_null(False)
            case Compare(op=op, left=left, right=right):
                a, b = c(left), c(right)
                return {
                    "==": a.eq, "!=": a.ne, "<": a.lt, "<=": a.le, ">": a.gt, ">=": a.ge,
                }[op](b)
            case In(value=value, values=values):
                return c(value).is_in(pl.lit(pl.Series(list(values), dtype=pl.String)).implode())
            case Contains(items=items, item=item):
                x = c(item)
                return pl.when(x.is_null()).then(pl.lit(None, dtype=pl.Boolean)).otherwise(
                    c(items).list.contains(x))
            case Overlaps(items=items, values=values):
                return c(items).list.eval(pl.element().is_in(list(values))).list.any()
            case IsEmpty(items=items):
                return c(items).list.len() == 0
            case Lookup(mapping=mapping, key=key, kind=kind):
                known = {k: v for k, v in mapping.items() if v is not None}
                return c(key).replace_strict(known, default=None, return_dtype=_DTYPES[kind])
            case Quantifier(qid=qid):
                return pl.col(qid)
        raise TypeError(f"cannot compile {type(node).__name__}")


def _quantifiers(nodes: Mapping[str, Expr]) -> list[Quantifier]:
    found: dict[str, Quantifier] = {}
    for node in nodes.values():
        for n in node.walk():
            if isinstance(n, Quantifier):
                found.setdefault(n.qid, n)
    return list(found.values())


def _case_facts(nodes: list[Expr]) -> set[str]:
    return {n.path for node in nodes for n in node.walk() if isinstance(n, Fact) and not n.is_leg}


def with_quantifiers(lf: pl.LazyFrame, quantifiers: list[Quantifier]) -> pl.LazyFrame:
    """Add one boolean column per route quantifier (named by its qid)."""
    if not quantifiers:
        return lf
    columns = set(lf.collect_schema().names())
    compile_ = Compiler(columns)
    bodies = [q.body for q in quantifiers]
    needed = sorted(_case_facts(bodies) & columns) + (["as_of"] if "as_of" in columns else [])
    legs = (
        lf.select(ROW, "route", *needed)
        .explode("route")
        .filter(pl.col("route").is_not_null())
        .with_columns(
            pl.col("route").struct.field(f).alias(f"route[].{f}") for f in LEG_FIELDS
        )
    )
    per_row = legs.group_by(ROW).agg(
        (compile_(q.body).any(ignore_nulls=False) if q.kind == "any"
         else compile_(q.body).all(ignore_nulls=False)).alias(q.qid)
        for q in quantifiers
    )
    n_legs = pl.col("route").list.len()
    return lf.join(per_row, on=ROW, how="left", maintain_order="left").with_columns(
        pl.when(n_legs.is_null()).then(pl.lit(None, dtype=pl.Boolean))
        .when(n_legs == 0).then(pl.lit(q.kind == "all"))
        .otherwise(pl.col(q.qid)).alias(q.qid)
        for q in quantifiers
    )


def evaluate_frame(lf: pl.LazyFrame, nodes: Mapping[str, Expr]) -> pl.LazyFrame:
    """Add a column per named node. The frame needs ``as_of`` and the fact columns
    (see ``facts.COLUMNS``); a missing fact column counts as unknown on every row."""
    lf = lf.with_row_index(ROW)
    quantifiers = _quantifiers(nodes)
    lf = with_quantifiers(lf, quantifiers)
    compile_ = Compiler(set(lf.collect_schema().names()))
    lf = lf.with_columns(compile_(node).alias(name) for name, node in nodes.items())
    return lf.drop([ROW, *(q.qid for q in quantifiers)])
