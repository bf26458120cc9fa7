"""Compile rule trees to Polars expressions: the same rules over a whole table.

Polars' boolean ``&``, ``|`` and ``~`` already follow Kleene logic on nulls, comparisons with a
null give null, and ``any``/``all`` with ``ignore_nulls=False`` are Kleene quantifiers, so each
node maps onto one Polars expression. Quantifiers over the route are computed once per table on
the exploded legs and joined back by row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl

from safethird import facts
from safethird.logic.expr import (
    AddYears,
    And,
    Clause,
    Compare,
    Const,
    Contains,
    Either,
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

COUNTRY_SET = facts.country_codes()
# every country code as one Enum: coded once, countries are gathered and compared as integers
COUNTRY = pl.Enum(sorted(COUNTRY_SET))
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
                 spread_lists: dict[str, int] | None = None,
                 lookups: dict[int, str] | None = None):
        self.columns = columns
        # look-ups already computed as columns (a table read by several clauses)
        self.lookups = lookups or {}
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
            case Either(true_if=t, false_if=f):
                return pl.when(c(t).fill_null(False)).then(pl.lit(True)) \
                    .when(c(f).fill_null(False)).then(pl.lit(False)) \
                    .otherwise(pl.lit(None, dtype=pl.Boolean))
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
            case Lookup() if id(node) in self.lookups:
                return pl.col(self.lookups[id(node)])
            case Lookup(mapping=mapping, key=key, kind=kind):
                # the key as a position in the table (an Enum cast), then a gather: far faster
                # than a string-keyed replace on millions of legs; absent keys give null. A
                # table keyed by countries uses the one country Enum, so that a column already
                # coded as countries (the route legs) is not cast again.
                enum = COUNTRY if set(mapping) <= COUNTRY_SET else pl.Enum(list(mapping))
                table = pl.Series([mapping.get(k) for k in enum.categories],
                                  dtype=_DTYPES[kind])
                position = c(key).cast(enum, strict=False).to_physical()
                return pl.lit(table).gather(position)
            case Quantifier(qid=qid):
                return pl.col(qid)
        raise TypeError(f"cannot compile {type(node).__name__}")


def _quantifiers(nodes: Mapping[str, Expr]) -> list[Quantifier]:
    found: dict[str, Quantifier] = {}
    met: set[int] = set()
    for node in nodes.values():
        for n in node.distinct(met):
            if isinstance(n, Quantifier):
                found.setdefault(n.qid, n)
    return list(found.values())


def _case_facts(nodes: list[Expr]) -> set[str]:
    met: set[int] = set()
    return {n.path for node in nodes for n in node.distinct(met)
            if isinstance(n, Fact) and not n.is_leg}


def _coded(path: str, e: pl.Expr) -> pl.Expr:
    """A case fact as it goes onto every leg: countries as the country Enum and other codes
    as their own Enum (small integers are copied and compared; a code not in the Enum
    becomes unknown)."""
    spec = facts.spec(path) if path in facts.FACTS else None
    if spec is not None and spec.kind in ("country", "countries"):
        return e.cast(COUNTRY, strict=False)
    if spec is not None and spec.kind == "enum":
        return e.cast(pl.Enum(spec.values), strict=False)
    return e


def with_quantifiers(lf: pl.LazyFrame, quantifiers: list[Quantifier]) -> pl.LazyFrame:
    """Add one boolean column per route quantifier (named by its qid).

    The legs of all cases are laid end to end once (each case's legs stay contiguous), the case
    facts a body reads go onto every leg of their case (countries as the country Enum, so that
    integers are copied and compared, not strings), each law-data look-up is done once per leg,
    and each body is evaluated on all legs at once. The per-case Kleene any/all is then one
    segmented OR over the legs' bits (see below)."""
    if not quantifiers:
        return lf
    frame = lf.collect()
    columns = set(frame.columns)
    read = _cached(quantifiers, "case facts", lambda: _case_facts([q.body for q in quantifiers]))
    needed = sorted(read & columns | {"as_of"} & columns)
    lists = {c for c in needed if isinstance(frame.schema[c], pl.List)}
    widths = {c: int(frame[c].list.len().max() or 0) for c in lists}

    lengths = frame["route"].list.len()
    legs = _legs(frame, needed, lists, widths)
    lookup_exprs, word_exprs, out = _cached(
        quantifiers, (frozenset(columns), tuple(sorted(widths.items()))),
        lambda: _compile_quantifiers(quantifiers, columns, widths))
    leg_words = legs.with_columns(lookup_exprs).select(word_exprs).collect()
    count = lengths.fill_null(0).to_numpy().astype(np.int64)
    nonempty = count > 0
    starts = (np.cumsum(count) - count)[nonempty]
    case_words = {}
    for k in range(len(word_exprs)):
        bits = np.zeros(frame.height, dtype=np.uint32)
        if leg_words.height:
            bits[nonempty] = np.bitwise_or.reduceat(leg_words[f"w{k}"].to_numpy(), starts)
        case_words[f"__bits{k}"] = bits
    return frame.lazy().with_columns(**case_words).with_columns(out).drop(list(case_words))


def _compile_quantifiers(quantifiers: list[Quantifier], columns: set[str],
                         widths: dict[str, int]
                         ) -> tuple[list[pl.Expr], list[pl.Expr], list[pl.Expr]]:
    """(look-up columns on the legs, the legs' bit words, the quantifier columns per case)."""
    bodies = [q.body for q in quantifiers]
    # each look-up table once per leg, however many clauses read it
    found = {id(n): n for b in bodies for n in b.walk() if isinstance(n, Lookup)}
    lookups = {k: f"__lookup_{i}" for i, k in enumerate(found)}
    plain = Compiler(columns, spread_lists=widths)
    lookup_exprs = [plain(found[k]).alias(name) for k, name in lookups.items()]
    compile_ = Compiler(columns, spread_lists=widths, lookups=lookups)
    # Per leg and quantifier, two bits: "this leg settles it" (a true leg for any, a false leg
    # for all) and "this leg is unknown". OR-ing the bits over each case's legs (one pass for
    # every quantifier) gives the Kleene result: settled, else unknown if a leg is, else the
    # value of an empty quantifier. (Polars' lazy engine shares the common sub-expressions.)
    words = [quantifiers[k:k + 16] for k in range(0, len(quantifiers), 16)]  # 2 bits each
    word_exprs = [
        pl.sum_horizontal(_bits(compile_(q.body), q.kind, i) for i, q in enumerate(word))
        .cast(pl.UInt32).alias(f"w{k}") for k, word in enumerate(words)]
    out = []
    for k, word in enumerate(words):
        w = pl.col(f"__bits{k}")
        for i, q in enumerate(word):
            settled = (w & (1 << 2 * i)) != 0
            unknown = ((w & (1 << 2 * i + 1)) != 0) | pl.col("route").is_null()
            out.append(pl.when(settled).then(q.kind == "any").when(unknown).then(None)
                       .otherwise(q.kind == "all").alias(q.qid))
    return lookup_exprs, word_exprs, out


def _bits(body: pl.Expr, kind: str, i: int) -> pl.Expr:
    settles = body if kind == "any" else ~body
    return settles.fill_null(False).cast(pl.UInt32) * (1 << 2 * i) \
        + body.is_null().cast(pl.UInt32) * (1 << 2 * i + 1)


def _legs(frame: pl.DataFrame, needed: list[str], lists: set[str], widths: dict[str, int]
          ) -> pl.LazyFrame:
    """One row per route leg, in case order: the leg's fields and the case facts it needs
    (a case-level list fact spread over scalar columns ``c#0``, ``c#1``, ... and ``c#null``).
    Lazy: laid out, looked up and evaluated in one query."""
    scalars = [_coded(c, pl.col(c)) for c in needed if c not in lists] \
        + [_coded(c, pl.col(c).list.get(k, null_on_oob=True)).alias(f"{c}#{k}")
           for c in lists for k in range(widths[c])] \
        + [pl.col(c).is_null().alias(f"{c}#null") for c in lists]
    legs = frame.lazy().select(*scalars, pl.col("route")) \
        .explode("route", empty_as_null=False, keep_nulls=False) \
        .with_columns(pl.col("route").struct.rename_fields([f"route[].{f}" for f in LEG_FIELDS])) \
        .unnest("route")
    return legs.with_columns(pl.col("route[].country").cast(COUNTRY, strict=False))


def _clause_layers(nodes: Mapping[str, Expr]) -> list[list[Clause]]:
    """Case-level clauses grouped by depth: a clause comes after every clause it contains."""
    depth: dict[int, int] = {}
    by_id: dict[int, Clause] = {}
    seen: dict[int, int] = {}  # every node's result: a shared subtree is walked once

    def visit(n: Expr) -> int:
        got = seen.get(id(n))
        if got is not None:
            return got
        if isinstance(n, Quantifier):
            return 0  # leg-level clauses are computed on the legs
        below = max((visit(c) for c in n.children()), default=0)
        if isinstance(n, Clause):
            if id(n) not in depth:
                depth[id(n)] = below + 1
                by_id[id(n)] = n
            below = depth[id(n)]
        seen[id(n)] = below
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
    quantifiers, layers = _plan(nodes)
    lf = with_quantifiers(lf, quantifiers)
    columns = frozenset(lf.collect_schema().names())
    layer_exprs, node_exprs, temporary = _cached(
        nodes, columns, lambda: _compile_layers(nodes, layers, columns))
    for exprs in layer_exprs:
        lf = lf.with_columns(exprs)
    return lf.with_columns(node_exprs).drop([*(q.qid for q in quantifiers), *temporary])


def _compile_layers(nodes: Mapping[str, Expr], layers: list[list[Clause]],
                    columns: frozenset[str]
                    ) -> tuple[list[list[pl.Expr]], list[pl.Expr], list[str]]:
    """(each layer's clause columns, the named nodes, the clause column names to drop)."""
    materialized: dict[int, str] = {}
    layer_exprs = []
    for layer in layers:
        compile_ = Compiler(set(columns), materialized)
        layer_exprs.append([compile_(c.expr).alias(f"__clause_{id(c)}") for c in layer])
        materialized.update({id(c): f"__clause_{id(c)}" for c in layer})
    compile_ = Compiler(set(columns), materialized)
    node_exprs = [compile_(node).alias(name) for name, node in nodes.items()]
    return layer_exprs, node_exprs, list(materialized.values())


_COMPILED: dict[tuple[int, object], tuple[object, Any]] = {}


def _cached(anchor: object, key: object, build: Callable[[], Any]) -> Any:
    """Polars expressions compiled once per rule set (``anchor``, held so that its id stays
    unique) and table shape (``key``): compiling costs about as much as evaluating a small
    chunk."""
    hit = _COMPILED.get((id(anchor), key))
    if hit is None or hit[0] is not anchor:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        hit = _COMPILED[(id(anchor), key)] = (anchor, build())
    return hit[1]


def _plan(nodes: Mapping[str, Expr]) -> tuple[list[Quantifier], list[list[Clause]]]:
    """The quantifiers and clause layers of a rule set, found once per rule set (walking the
    trees costs more than evaluating them on a small batch)."""
    return _cached(nodes, "plan", lambda: (_quantifiers(nodes), _clause_layers(nodes)))
