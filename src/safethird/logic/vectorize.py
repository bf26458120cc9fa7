"""Compile rule trees to Polars expressions: the same rules over a whole table.

Polars' boolean ``&``, ``|`` and ``~`` already follow Kleene logic on nulls, comparisons with a
null give null, and ``any``/``all`` with ``ignore_nulls=False`` are Kleene quantifiers, so each
node maps onto one Polars expression. Quantifiers over the route are computed once per table on
the exploded legs and joined back by row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from safethird import facts
from safethird.logic.expr import (
    AddYears,
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
    def __init__(self, columns: set[str], materialized: dict[int, str] | None = None,
                 spread_lists: dict[str, int] | None = None):
        self.columns = columns
        # clauses already computed as columns (shared sub-trees are computed once)
        self.materialized = materialized or {}
        # on route legs, a case-level list fact is spread over scalar columns c#0, c#1, ...
        # (gathering short scalars to every leg is much cheaper than gathering lists)
        self.spread_lists = spread_lists or {}

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
                name = self.materialized.get(id(node))
                return pl.col(name) if name else c(expr)
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
            case Contains(items=Fact(path=path), item=item) if path in self.spread_lists:
                x = c(item)
                hits = [(pl.col(f"{path}#{k}") == x).fill_null(False)
                        for k in range(self.spread_lists[path])]
                found = pl.any_horizontal(hits) if hits else pl.lit(False)
                return pl.when(x.is_null() | pl.col(f"{path}#null")).then(
                    pl.lit(None, dtype=pl.Boolean)).otherwise(found)
            case Contains(items=items, item=item):
                x = c(item)
                return pl.when(x.is_null()).then(pl.lit(None, dtype=pl.Boolean)).otherwise(
                    c(items).list.contains(x))
            case Overlaps(items=items, values=values):
                return c(items).list.eval(pl.element().is_in(list(values))).list.any()
            case AddYears(date=date, years=years):
                return c(date).dt.offset_by(f"{years}y")
            case IsEmpty(items=items):
                return c(items).list.len() == 0
            case Lookup(mapping=mapping, key=key, kind=kind):
                # the key as a position in the table (an Enum cast), then a gather: far faster
                # than a string-keyed replace on millions of legs; absent keys give null
                keys = list(mapping)
                table = pl.Series(list(mapping.values()), dtype=_DTYPES[kind])
                position = c(key).cast(pl.Enum(keys), strict=False).to_physical()
                return pl.lit(table).gather(position)
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
    """Add one boolean column per route quantifier (named by its qid).

    The legs of every case are flattened once (Arrow list offsets, no copy), the case facts a
    body reads are gathered to its legs, each body is evaluated on all legs at once, and the
    per-case Kleene any/all is a count of true, false and unknown legs per case."""
    if not quantifiers:
        return lf
    frame = lf.collect()
    columns = set(frame.columns)
    lists = {c for c in _case_facts([q.body for q in quantifiers]) & columns
             if isinstance(frame.schema[c], pl.List)}
    widths = {c: int(frame[c].list.len().max() or 0) for c in lists}
    compile_ = Compiler(columns, spread_lists=widths)
    route = frame["route"].to_arrow()
    if isinstance(route, pa.ChunkedArray):
        route = route.combine_chunks()
    parents = pc.list_parent_indices(route).to_numpy()
    legs = pl.from_arrow(route.flatten())
    assert isinstance(legs, pl.Series)
    n_legs_total = len(parents)
    needed = sorted((_case_facts([q.body for q in quantifiers]) & columns) | {"as_of"} & columns)
    scalars = frame.select(
        [pl.col(c) for c in needed if c not in lists]
        + [pl.col(c).list.get(k, null_on_oob=True).alias(f"{c}#{k}")
           for c in lists for k in range(widths[c])]
        + [pl.col(c).is_null().alias(f"{c}#null") for c in lists])
    gather = pl.Series(parents, dtype=pl.Int64)
    leg_frame = pl.DataFrame({f"route[].{f}": legs.struct.field(f) for f in LEG_FIELDS}
                             | {c: scalars[c].gather(gather) for c in scalars.columns}) \
        if n_legs_total else pl.DataFrame(
            {f"route[].{f}": pl.Series([], dtype=t) for f, t in facts.LEG_DTYPE.to_schema()
             .items()} | {c: scalars[c].clear() for c in scalars.columns})
    values = leg_frame.select(compile_(q.body).alias(q.qid) for q in quantifiers)
    n = frame.height
    lengths = frame["route"].list.len()
    route_null = lengths.is_null().to_numpy()
    empty = (lengths.fill_null(0) == 0).to_numpy()
    out = {}
    for q in quantifiers:
        v = values[q.qid]
        known_true = np.bincount(parents, weights=v.fill_null(False).to_numpy(), minlength=n)
        known_false = np.bincount(parents, weights=(~v).fill_null(False).to_numpy(),
                                  minlength=n)
        unknown = np.bincount(parents, weights=v.is_null().to_numpy(), minlength=n)
        if q.kind == "any":
            result = np.where(known_true > 0, 1, np.where(unknown > 0, -1, 0))
        else:
            result = np.where(known_false > 0, 0, np.where(unknown > 0, -1, 1))
        result = np.where(empty, 1 if q.kind == "all" else 0, result)
        result = np.where(route_null, -1, result)
        out[q.qid] = pl.Series(q.qid, result == 1).set(pl.Series(result == -1), None)
    return frame.with_columns(**out).lazy()


def _clause_layers(nodes: Mapping[str, Expr]) -> list[list[Clause]]:
    """Case-level clauses grouped by depth: a clause comes after every clause it contains."""
    depth: dict[int, int] = {}
    by_id: dict[int, Clause] = {}

    def visit(n: Expr) -> int:
        if isinstance(n, Quantifier):
            return 0  # leg-level clauses are computed on the legs
        below = max((visit(c) for c in n.children()), default=0)
        if isinstance(n, Clause):
            if id(n) not in depth:
                depth[id(n)] = below + 1
                by_id[id(n)] = n
            return depth[id(n)]
        return below

    for node in nodes.values():
        visit(node)
    layers: dict[int, list[Clause]] = {}
    for key, d in depth.items():
        layers.setdefault(d, []).append(by_id[key])
    return [layers[d] for d in sorted(layers)]


def evaluate_frame(lf: pl.LazyFrame, nodes: Mapping[str, Expr]) -> pl.LazyFrame:
    """Add a column per named node. The frame needs ``as_of`` and the fact columns
    (see ``facts.COLUMNS``); a missing fact column counts as unknown on every row."""
    lf = lf.with_row_index(ROW)
    quantifiers = _quantifiers(nodes)
    lf = with_quantifiers(lf, quantifiers)
    columns = set(lf.collect_schema().names())
    materialized: dict[int, str] = {}
    for layer in _clause_layers(nodes):
        compile_ = Compiler(columns, materialized)
        exprs = {f"__clause_{id(c)}": compile_(c.expr) for c in layer}
        lf = lf.with_columns(e.alias(name) for name, e in exprs.items())
        materialized.update({id(c): f"__clause_{id(c)}" for c in layer})
    compile_ = Compiler(columns, materialized)
    lf = lf.with_columns(compile_(node).alias(name) for name, node in nodes.items())
    return lf.drop([ROW, *(q.qid for q in quantifiers), *materialized.values()])
