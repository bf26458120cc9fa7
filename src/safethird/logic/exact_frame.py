"""Exact answers over unknown facts, for a table: the worlds of many cases as rows.

The per-case search (:mod:`safethird.logic.exact`, ``Reasoner.explore``) splits one unknown
fact at a time into the classes the rules can tell apart and re-evaluates each branch in Python.
Here the same search runs on a table: every open world is a row (with the index of the case it
came from); in each round every world still open splits ONE unknown fact into one row per class
value, the worlds the facts allow are kept (``facts.possible_expr``), all are evaluated at once by
the vectorized rules (:mod:`vectorize`), and the settled ones are kept as leaves. A case is
dropped from further work as soon as two of its leaves disagree (that answer is then unknown).

The search is the per-case one, not merely one with the same settled answers: "known to be true"
is not monotone (an unknown counts as not shown), so which facts are split, and in which order,
can change what a leaf says. Each world therefore splits the fact ``exact._split_on`` would: the
unknown fact met most often under the nodes still unknown in the monotone reading, descending
from the open answer's output nodes (computed here for every world at once: each node's value
from its children's columns, then the descent in NumPy); and, as ``Reasoner.explore`` does, the
pathway's search starts from what the findings' searches settled in every world.

Only facts whose classes are the same in every case are split here (booleans, enumerations,
states, and countries the rules compare with constants only): their class lists are constants.
A case that needs another split (a date, a country compared with the case's own facts, the route
or the nationalities unknown), or as many worlds as the per-case budget, is returned to the
caller, which decides it with the per-case search; a case already known to be open is not.

What a finding reports when its status is settled follows ``Reasoner.outcome``: the first
reason that holds in every leaf, else the last (in the reasons' order) among the leaves'
reasons; the partner is the first whose clause holds in every leaf. Nothing here names a
provision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from safethird import facts as facts_mod
from safethird.logic.evaluate import _reads as reads_of
from safethird.logic.exact import is_fixed
from safethird.logic.expr import And, Const, Expr, Fact, IsTrue, Not, Or, Param, Quantifier
from safethird.logic.finding import (
    APPLIES,
    UNDETERMINED,
    Finding,
    finding_columns,
    table_column,
)
from safethird.logic.finding import UNKNOWN as UNKNOWN_STATUS
from safethird.logic.reasoning import Reasoner
from safethird.logic.vectorize import Compiler, _cached, _case_facts, _legs, evaluate_frame

INDEX = "__i"  # the case a world came from
# Below this many open rows the per-case search is faster: a round here costs a few tens of
# milliseconds whatever the table's size (planning a query over every node of the rule set),
# the per-case search about half a millisecond a row (measured with benchmarks/bench_exact.py;
# the two give the same answers, tests/test_exact_frame.py). On the bench data: 2,529 open rows
# 1.45 s one by one against 1.96 s here; 12,600 open rows 5.7 s against 2.1 s.
MIN_ROWS = 5_000
_WORLD = "__w"  # a world's number within its round
_VALUE = "__value"  # the part's value at a world (null: open there)
_SPLIT = "__split"  # which fact a world splits on (null: none left to split)


def _split(path: str) -> _Split:
    if path.startswith("route["):
        return _Split("route[]." + path.split(".", 1)[1], int(path[6:path.index("]")]))
    return _Split(path, None)


@dataclass(frozen=True)
class _Split:
    """An unknown fact to split: as the rules name it, and the leg for a fact of the route."""

    pattern: str
    leg: int | None

    @property
    def field(self) -> str:
        return self.pattern.removeprefix("route[].")

    def put(self, value: Any) -> pl.Expr:
        if self.leg is None:
            return pl.lit(value, dtype=facts_mod.COLUMNS[self.pattern]).alias(self.pattern)
        at = pl.int_range(pl.len()) == self.leg
        return pl.col("route").list.eval(
            pl.when(at).then(pl.element().struct.with_fields(
                pl.lit(value, dtype=pl.String).alias(self.field))).otherwise(pl.element())
        ).alias("route")


def _rebuild(node: Expr, memo: dict[int, Expr], monotone: bool,
             wrap: Mapping[int, str]) -> Expr:
    """A copy of a rule tree (shared sub-trees stay shared): with ``monotone``, "known to be
    true" read as the value itself (the reading the per-case search follows to find what an
    answer waits on, ``compile_rules(monotone=True)``); each node in ``wrap`` (by id) takes
    the value given for it on a world where one is given (``Reasoner.explore``'s ``given``):
    columns ``__gp.{name}`` (given?) and ``__gv.{name}`` (the value)."""
    got = memo.get(id(node))
    if got is not None:
        return got
    if monotone and isinstance(node, IsTrue):
        out = _rebuild(node.arg, memo, monotone, wrap)
    elif isinstance(node, Fact | Const | Param):
        out = node
    else:
        changes = {}
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            if isinstance(v, Expr):
                changes[f.name] = _rebuild(v, memo, monotone, wrap)
            elif isinstance(v, tuple) and v and all(isinstance(x, Expr) for x in v):
                changes[f.name] = tuple(_rebuild(x, memo, monotone, wrap) for x in v)
        out = dataclasses.replace(node, **changes) if changes else node
        if all(changes[k] is getattr(node, k) for k in changes):
            out = node
    name = wrap.get(id(node))
    if name is not None:
        present = Fact(f"__gp.{name}")
        out = Or((And((present, Fact(f"__gv.{name}"))), And((Not(present), out))))
    memo[id(node)] = out
    return out


@dataclass
class _Graph:
    """The case-level nodes of a (monotone) forest, children before parents, with their
    parents: what the per-case search descends through (``exact._support``)."""

    order: list[Expr]
    parents: dict[int, list[int]]
    quantifiers: list[Quantifier]

    @classmethod
    def of(cls, roots: Sequence[Expr]) -> _Graph:
        order: list[Expr] = []
        parents: dict[int, list[int]] = {}
        quantifiers: list[Quantifier] = []
        seen: set[int] = set()

        def visit(n: Expr) -> None:
            if id(n) in seen:
                return
            seen.add(id(n))
            if isinstance(n, Quantifier):
                quantifiers.append(n)  # its body is read leg by leg
            else:
                for c in n.children():
                    parents.setdefault(id(c), []).append(id(n))
                    visit(c)
            order.append(n)

        for r in roots:
            visit(r)
        return cls(order, parents, quantifiers)


def _shallow(node: Expr, columns: Mapping[int, str]) -> tuple[Expr, list[int]]:
    """``node`` with each child that has a column (by id) read as that column (a fact
    named after it), and the ids of those children."""
    below: list[int] = []

    def ref(c: Expr) -> Expr:
        name = columns.get(id(c))
        if name is None:
            return c
        below.append(id(c))
        return Fact(name)

    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        if isinstance(v, Expr):
            changes[f.name] = ref(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, Expr) for x in v):
            changes[f.name] = tuple(ref(x) for x in v)
    return (dataclasses.replace(node, **changes) if changes else node), below


@dataclass
class _Part:
    graph: _Graph
    relevant: list[Expr]  # children first
    # the nodes the vectorized rules give as columns (the quantifiers): every other relevant
    # node is computed from them
    columns: dict[str, Expr]


class FrameExact:
    """The exact pass of one rule set over tables (built once per rule set)."""

    def __init__(self, reasoner: Reasoner, possible: Callable[[set[str]], pl.Expr],
                 budget: int = 600):
        self.reasoner = reasoner
        self.problem = reasoner.problem
        # the facts that can be true at once, over a table with these columns
        self.possible = possible
        # worlds per case and answer, as the per-case search counts them (branches tried):
        # a case that needs as many goes back to it
        self.budget = budget
        self.rank = {p: i for i, p in enumerate(self.problem.order)}

    # --- the trees ------------------------------------------------------------------------------

    @cached_property
    def _wrapped(self) -> dict[int, str]:
        """The findings' nodes (by id): a pathway search starts from what they settled."""
        return {id(node): name for f in self.reasoner.findings
                for name, node in f.nodes().items()}

    @cached_property
    def kleene_nodes(self) -> dict[str, Expr]:
        memo: dict[int, Expr] = {}
        return {name: _rebuild(node, memo, False, self._wrapped)
                for name, node in self.reasoner.nodes.items()}

    @cached_property
    def _monotone(self) -> tuple[dict[str, Expr], dict[int, str]]:
        """The output nodes in the monotone reading (one forest: shared nodes stay shared),
        and a column name for each of its case-level nodes."""
        memo: dict[int, Expr] = {}
        roots = {name: _rebuild(self.reasoner.nodes[name], memo, True, self._wrapped)
                 for names in self.problem.part_nodes for name in names}
        graph = _Graph.of(list(roots.values()))
        return roots, {id(n): f"__m{k}" for k, n in enumerate(graph.order)}

    @cached_property
    def _parts(self) -> dict[int, _Part]:
        """Per part: what its search descends through (from its own output nodes only)."""
        roots, names = self._monotone
        fixed = self.problem.fixed
        out = {}
        for part, part_names in enumerate(self.problem.part_nodes):
            graph = _Graph.of([roots[n] for n in part_names])
            keep: set[int] = set()
            for n in graph.order:  # children come first
                if isinstance(n, Fact):
                    if not n.is_leg and not n.path.startswith("__") \
                            and not is_fixed(n.path, fixed):
                        keep.add(id(n))
                elif isinstance(n, Quantifier) or any(id(c) in keep for c in n.children()):
                    keep.add(id(n))
            # the nodes under which some fact can be split or the route quantified (the
            # others cannot add to a score), children first
            relevant = [n for n in graph.order if id(n) in keep]
            # only the quantifiers: every other node (clauses too) is computed from its
            # children's columns (naming each clause would have the vectorizer walk each one's
            # tree again)
            columns = {names[id(n)]: n for n in relevant if isinstance(n, Quantifier)}
            out[part] = _Part(graph, relevant, columns)
        return out

    # --- which facts can be split here ------------------------------------------------------

    def classes(self, pat: str) -> tuple[Any, ...]:
        """The class values of a fact when they are the same in every case, else ()."""
        return self._classes.get(pat, ())

    @cached_property
    def _classes(self) -> dict[str, tuple[Any, ...]]:
        out = {}
        for pat in self.problem.order:
            got = self._class_values(pat)
            if got:
                out[pat] = got
        return out

    def _class_values(self, pat: str) -> tuple[Any, ...]:
        if pat == "route" or is_fixed(pat, self.problem.fixed):
            return ()
        try:
            spec = facts_mod.spec(pat)
        except KeyError:
            return ()
        if pat.startswith("route[]."):
            if spec.kind != "enum":
                return ()  # dates and countries of a leg: classes of the case's own
        elif pat not in facts_mod.COLUMNS:
            return ()
        mm = self.problem.analysis.mentions.get(pat)
        if spec.kind == "country":
            # compared with constants only (no other fact, no table keyed by it): its classes
            # do not depend on the case (domains.Analysis._countries)
            if mm is not None and (mm.facts or mm.lookups):
                return ()
        elif spec.kind not in ("bool", "enum", "state"):
            return ()
        path = pat.replace("[]", "[0]")
        probe: dict[str, Any] = {"route": [{}]} if pat.startswith("route[]") else {}
        return tuple(self.problem.analysis.classes(probe, path, dt.date(2000, 1, 1)))

    # --- evaluation of worlds -----------------------------------------------------------------

    @cached_property
    def _derived(self) -> list[pl.Expr]:
        return [e for f in self.reasoner.findings for e in finding_columns(f)] \
            + [table_column(self.reasoner.pathway)]

    @cached_property
    def _part_rules(self) -> dict[int, tuple[dict[str, Expr], list[pl.Expr]]]:
        """Per part: the output nodes it reads and the columns derived from them (a
        finding's own nodes; the pathway's rows)."""
        k = self.kleene_nodes
        out = {}
        for i, f in enumerate(self.reasoner.findings):
            out[2 * i] = ({n: k[n] for n in f.nodes()}, finding_columns(f))
        t = self.reasoner.pathway
        out[self.reasoner.pathway_part] = ({n: k[n] for n in t.nodes()}, [table_column(t)])
        return out

    def _evaluate(self, worlds: pl.DataFrame, part: int | None = None) -> pl.DataFrame:
        nodes, derived = (self.kleene_nodes, self._derived) if part is None \
            else self._part_rules[part]
        return evaluate_frame(worlds.lazy(), nodes).with_columns(derived).collect()

    def _null_layers(self, part: int, columns: frozenset[str]) -> list[list[pl.Expr]]:
        """The value of every relevant node in the monotone reading (columns named as in
        ``_monotone``), in layers: each node computed from its children's columns (a node
        compiled whole would repeat its sub-trees), after the clause and quantifier columns
        ``evaluate_frame`` gives; then ``{name}.null`` for each. Compiled once per table
        shape."""
        def build() -> list[list[pl.Expr]]:
            names = self._monotone[1]
            have = set(columns) | set(self._parts[part].columns)
            depth: dict[int, int] = {}
            layers: dict[int, list[pl.Expr]] = {}
            for n in self._parts[part].relevant:  # children first
                if isinstance(n, Fact):
                    continue  # read as it is
                if isinstance(n, Quantifier):
                    depth[id(n)] = 0
                    continue
                shallow, below = _shallow(n, {k: names[k] for k in depth})
                d = depth[id(n)] = 1 + max((depth[k] for k in below), default=0)
                compile_ = Compiler(have | {names[k] for k in below})
                layers.setdefault(d, []).append(compile_(shallow).alias(names[id(n)]))
            nulls = []
            for n in self._parts[part].relevant:
                if isinstance(n, Fact):
                    e = pl.col(n.path).is_null() if n.path in columns else pl.lit(True)
                else:
                    e = pl.col(names[id(n)]).is_null()
                nulls.append(e.alias(f"{names[id(n)]}.null"))
            return [layers[d] for d in sorted(layers)] + [nulls]

        return _cached(self, ("null", part, columns), build)

    def _choose(self, worlds: pl.DataFrame, part: int) -> pl.DataFrame:
        """``__w`` and the fact each world splits on (``__split``; none: nothing left that
        the open answer waits on): the choice of ``exact._split_on``, vectorized. The facts are
        scored by how many of their occurrences lie under nodes still unknown in the monotone
        reading, starting from the part's output nodes that are unknown (Kleene)."""
        roots, names = self._monotone
        mine = self._parts[part]
        graph, relevant = mine.graph, mine.relevant
        columns = frozenset(worlds.columns)
        root_names = list(self.problem.part_nodes[part])
        lf = evaluate_frame(worlds.lazy(), mine.columns)
        *layers, nulls = self._null_layers(part, columns)
        for layer in layers:
            lf = lf.with_columns(layer)
        frame = lf.select(_WORLD, *nulls,
                          *(pl.col(n).is_null().alias(f"__root.{n}") for n in root_names)
                          ).collect()
        n_worlds = frame.height
        nothing = np.zeros(n_worlds, dtype=bool)
        null = {id(n): frame[f"{names[id(n)]}.null"].to_numpy() for n in relevant}
        root: dict[int, np.ndarray] = {}
        for name in root_names:
            r = roots[name]
            root[id(r)] = root.get(id(r), nothing) | frame[f"__root.{name}"].to_numpy()
        # a node the search visits: a root whose Kleene value is unknown, or a child of a
        # visited node whose monotone value is unknown (exact._support's descent)
        reached: dict[int, np.ndarray] = {}
        for n in reversed(relevant):  # parents first
            r = root.get(id(n), nothing)
            for p in graph.parents.get(id(n), []):
                if p in reached:  # every parent of a relevant node is one
                    r = r | (reached[p] & null[p])
            reached[id(n)] = r
        scores: dict[str, np.ndarray] = {}
        for n in relevant:
            if isinstance(n, Fact):
                hit = (reached[id(n)] & null[id(n)]).astype(np.int32)
                scores[n.path] = scores[n.path] + hit if n.path in scores else hit
        route_null = worlds["route"].is_null().to_numpy() if "route" in columns \
            else np.ones(n_worlds, dtype=bool)
        legs_open = {}
        route_score = np.zeros(n_worlds, dtype=np.int32)
        for k, q in enumerate(graph.quantifiers):
            if id(q) not in reached:
                continue
            waits = reached[id(q)] & null[id(q)]
            route_score += (waits & route_null).astype(np.int32)
            legs_open[f"__q{k}"] = waits & ~route_null
        if route_score.any():
            scores["route"] = route_score
        long = pl.DataFrame({_WORLD: frame[_WORLD], **scores}).unpivot(
            index=_WORLD, variable_name="path", value_name="score")
        parts = [long.filter(pl.col("score") > 0)]
        if any(v.any() for v in legs_open.values()):
            parts += self._leg_scores(worlds.with_columns(
                pl.Series(k, v) for k, v in legs_open.items()), list(legs_open), graph)
        table = pl.concat(parts, how="vertical_relaxed").group_by(_WORLD, "path").agg(
            pl.col("score").sum())
        rank = pl.DataFrame({"pattern": list(self.rank), "rank": list(self.rank.values())},
                            schema={"pattern": pl.String, "rank": pl.Int64})
        table = table.with_columns(
            pattern=pl.col("path").str.replace(r"^route\[\d+\]\.", "route[].")
        ).join(rank, on="pattern", how="left").with_columns(
            pl.col("rank").fill_null(len(self.rank)), (pl.col("path") == "route").alias("r"))
        best = table.sort([_WORLD, "r", "score", "rank", "path"],
                          descending=[False, False, True, False, False]) \
            .group_by(_WORLD, maintain_order=True).first()
        return frame.select(_WORLD).join(best.select(_WORLD, pl.col("path").alias(_SPLIT)),
                                         on=_WORLD, how="left")

    def _leg_scores(self, frame: pl.DataFrame, open_cols: list[str], graph: _Graph
                    ) -> list[pl.DataFrame]:
        """The facts under each open quantifier's body (``__q{k}``: open on that world), on
        each leg where the body is still unknown (the monotone reading, ``WaitsOn.legs_of``),
        counted once per quantifier and leg."""
        fixed = self.problem.fixed
        qs = [(c, graph.quantifiers[int(c[3:])]) for c in open_cols]
        frame = frame.filter(pl.any_horizontal(open_cols))
        columns = set(frame.columns)
        readers: dict[tuple[str, bool], list[str]] = {}
        for c, q in qs:
            for path, is_leg in reads_of(q.body)[0]:
                if not path.startswith("__") and not is_fixed(path, fixed):
                    readers.setdefault((path, is_leg), []).append(c)
        # a case fact's unknown, read on the world (on the legs it is coded, and a code
        # outside its enumeration would read as unknown)
        case_paths = sorted(p for p, is_leg in readers if not is_leg)
        frame = frame.with_columns(
            (pl.col(p).is_null() if p in columns else pl.lit(True)).alias(f"__u.{p}")
            for p in case_paths)
        read = _case_facts([q.body for _, q in qs])
        needed = [*sorted(read & columns | {"as_of"} & columns), _WORLD, *open_cols,
                  *(f"__u.{p}" for p in case_paths)]
        lists = {c for c in needed if isinstance(frame.schema[c], pl.List)}
        widths = {c: int(frame[c].list.len().max() or 0) for c in lists}
        compile_ = Compiler(columns, spread_lists=widths)
        waiting = {c: (pl.col(c) & compile_(q.body).is_null()).cast(pl.Int32) for c, q in qs}
        counts = []
        for (path, is_leg), who in readers.items():
            unknown = pl.col(path).is_null() if is_leg else pl.col(f"__u.{path}")
            counts.append((pl.sum_horizontal(waiting[c] for c in who) * unknown.cast(pl.Int32))
                          .alias(f"{'leg' if is_leg else 'case'}:{path}"))
        legs = _legs(frame, needed, lists, widths).with_columns(
            pl.int_range(pl.len()).over(_WORLD).alias("__leg")).select(
            _WORLD, "__leg", *counts).collect()
        out = []
        for (path, is_leg) in readers:
            col = f"{'leg' if is_leg else 'case'}:{path}"
            hits = legs.filter(pl.col(col) > 0)
            if is_leg:
                at = pl.format("route[{}]." + path.removeprefix("route[]."), pl.col("__leg"))
                out.append(hits.select(_WORLD, at.alias("path"), pl.col(col).alias("score")))
            else:
                out.append(hits.group_by(_WORLD).agg(pl.col(col).sum().alias("score"))
                           .select(_WORLD, pl.lit(path).alias("path"), "score"))
        return out

    # --- the pass -------------------------------------------------------------------------------

    def decide(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[int]]:
        """Decide the cases of ``frame`` (the fact columns, ``as_of``, and ``INDEX``).

        Returns one row per case decided here: ``INDEX``, each finding's ``status``,
        ``reason``, ``partner`` and ``partners`` (';'-joined, the partners sure to receive the
        person when it applies), and the pathway; and the indexes of the cases the pass could
        not decide (give them to the per-case search)."""
        rs = self.reasoner
        frame = self._prepared(frame)
        base = self._evaluate(frame)
        back: set[int] = set()
        results = frame.select(INDEX)
        given: list[pl.DataFrame] = []
        for k, f in enumerate(rs.findings):
            got, lost, settled = self._explore(frame, 2 * k, f)
            back |= lost
            frame = frame.filter(~pl.col(INDEX).is_in(sorted(lost)))
            results = results.join(got, on=INDEX, how="left")
            given.append(self._given(base, settled, f))
        frame = self._with_given(frame, given)
        got, lost, _ = self._explore(frame, rs.pathway_part, None)
        back |= lost
        results = results.join(got, on=INDEX, how="left")
        return results.filter(~pl.col(INDEX).is_in(sorted(back))), sorted(back)

    def _prepared(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The decisions an authority does not state, counted as not made (as
        ``Declarations.fill`` does per case); a column for every fact split here (the
        vectorized rules read an absent column as unknown: a null column is the same); no
        node given yet."""
        d = self.reasoner.declarations
        fills = [pl.col(u.fact).fill_null(u.value) if u.fact in frame.columns
                 else pl.lit(u.value, dtype=facts_mod.COLUMNS[u.fact]).alias(u.fact)
                 for u in d.unless_stated if u.fact in facts_mod.COLUMNS]
        frame = frame.with_columns(fills) if fills else frame
        extra = {p for p in self._classes if not p.startswith("route[]")
                 and p not in frame.columns}
        frame = frame.with_columns(pl.lit(None, dtype=facts_mod.COLUMNS[c]).alias(c)
                                   for c in sorted(extra))
        names = list(dict.fromkeys(self._wrapped.values()))
        return frame.with_columns(
            [pl.lit(False).alias(f"__gp.{n}") for n in names]
            + [pl.lit(None, dtype=pl.Boolean).alias(f"__gv.{n}") for n in names])

    def _given(self, base: pl.DataFrame, leaves: pl.DataFrame, f: Finding) -> pl.DataFrame:
        """What a finding's search settled over every world of a case (and its own facts
        left unknown): the pathway's search starts from it (``Reasoner.explore``)."""
        names = list(f.nodes())
        agg = leaves.group_by(INDEX).agg(
            *(pl.when((pl.col(n).n_unique() == 1) & (pl.col(n).null_count() == 0))
              .then(pl.col(n).first()).alias(n) for n in names))
        unknown = base.select(INDEX, *(pl.col(n).is_null().alias(f"__b.{n}") for n in names))
        agg = agg.join(unknown, on=INDEX)
        return agg.select(INDEX, *(pl.when(pl.col(f"__b.{n}")).then(pl.col(n)).alias(n)
                                   for n in names))

    def _with_given(self, frame: pl.DataFrame, given: list[pl.DataFrame]) -> pl.DataFrame:
        for g in given:
            names = [c for c in g.columns if c != INDEX]
            frame = frame.drop([f"__gv.{n}" for n in names] + [f"__gp.{n}" for n in names]) \
                .join(g.rename({n: f"__gv.{n}" for n in names}), on=INDEX, how="left") \
                .with_columns(pl.col(f"__gv.{n}").is_not_null().alias(f"__gp.{n}")
                              for n in names)
        return frame

    def _explore(self, frame: pl.DataFrame, part: int, f: Finding | None
                 ) -> tuple[pl.DataFrame, set[int], pl.DataFrame]:
        """One answer (a finding's status, or the pathway) over the worlds of every case:
        (the answers, the cases sent back, the leaves of the cases whose worlds agree)."""
        facts = frame.columns
        if f is None:
            value = pl.when(pl.col(self.reasoner.pathway.name) != UNDETERMINED) \
                .then(pl.col(self.reasoner.pathway.name))
            keep = [INDEX, _VALUE]
        else:
            value = pl.when(pl.col(f"{f.name}.status") != UNKNOWN_STATUS) \
                .then(pl.col(f"{f.name}.status"))
            keep = [INDEX, _VALUE, f"{f.name}.reason", *f.nodes()]
        # no leaf yet (typed, so that a table left empty still has its columns)
        leaves: list[pl.DataFrame] = [self._evaluate(frame.clear(), part).with_columns(
            value.alias(_VALUE)).select(keep)]
        spent = pl.DataFrame({INDEX: [], "spent": []},
                             schema={INDEX: pl.UInt32, "spent": pl.Int64})
        open_: set[int] = set()  # cases whose leaves disagree: open, nothing more to learn
        back: set[int] = set()
        worlds = frame
        while worlds.height:
            ev = self._evaluate(worlds, part).with_columns(value.alias(_VALUE))
            leaves.append(ev.filter(pl.col(_VALUE).is_not_null()).select(keep))
            unsettled = ev.filter(pl.col(_VALUE).is_null()).with_row_index(_WORLD)
            todo = unsettled
            if unsettled.height:
                chosen = self._choose(unsettled, part)
                unsettled = unsettled.join(chosen, on=_WORLD, how="left")
                # an open world with nothing left to split: the law leaves it open there
                leaves.append(unsettled.filter(pl.col(_SPLIT).is_null()).select(keep))
                cannot = unsettled.filter(pl.col(_SPLIT).is_not_null()
                                          & ~pl.col(_SPLIT).str.replace(r"^route\[\d+\]\.",
                                                                        "route[].")
                                          .is_in(list(self._classes)))
                back |= set(cannot[INDEX].to_list())
                todo = unsettled.filter(pl.col(_SPLIT).is_not_null())
            # two leaves that disagree: open, whatever the other worlds give
            seen = pl.concat(leaves).group_by(INDEX).agg(pl.col(_VALUE).n_unique().alias("n"))
            open_ |= set(seen.filter(pl.col("n") > 1)[INDEX].to_list())
            back -= open_
            todo = todo.filter(~pl.col(INDEX).is_in(sorted(open_ | back)))
            if not todo.height:
                break
            children = []
            for path in todo[_SPLIT].unique().sort().to_list():
                mine = todo.filter(pl.col(_SPLIT) == path)
                split = _split(path)
                for v in self._classes[split.pattern]:
                    children.append(mine.with_columns(split.put(v)))
            kids = pl.concat(children)
            kids = kids.filter(self.possible(set(kids.columns)))
            # a world none of whose branches is possible stays a leaf, open
            barren = todo.filter(~pl.col(_WORLD).is_in(kids[_WORLD].unique().to_list()))
            leaves.append(barren.select(keep))
            count = kids.group_by(INDEX).len("spent").with_columns(
                pl.col("spent").cast(pl.Int64))
            spent = pl.concat([spent, count]).group_by(INDEX).agg(pl.col("spent").sum())
            back |= set(spent.filter(pl.col("spent") >= self.budget)[INDEX].to_list())
            seen = pl.concat(leaves).group_by(INDEX).agg(pl.col(_VALUE).n_unique().alias("n"))
            open_ |= set(seen.filter(pl.col("n") > 1)[INDEX].to_list())
            back -= open_
            worlds = kids.filter(~pl.col(INDEX).is_in(sorted(open_ | back))).select(facts)
        every = pl.concat(leaves).filter(~pl.col(INDEX).is_in(sorted(back)))
        agree = every.filter(~pl.col(INDEX).is_in(sorted(open_)))
        ids = frame.select(INDEX).filter(~pl.col(INDEX).is_in(sorted(back)))
        if f is None:
            got = agree.group_by(INDEX).agg(pl.col(_VALUE).first().alias("pathway"))
            out = ids.join(got, on=INDEX, how="left").with_columns(
                pl.col("pathway").fill_null(UNDETERMINED))
            return out, back, agree
        out = ids.join(self._finding_outcome(agree, f), on=INDEX, how="left").with_columns(
            pl.col(f"{f.name}.status").fill_null(UNKNOWN_STATUS),
            pl.col(f"{f.name}.reason").fill_null(UNDETERMINED))
        return out, back, agree

    def _finding_outcome(self, leaves: pl.DataFrame, f: Finding) -> pl.DataFrame:
        """Status, reason, partner(s) of the cases whose leaves all agree on the status."""
        reasons = [x.code for x in f.reasons]
        order = [*reasons, f.applies_code]
        everywhere = [(pl.col(f.column(c)) == True).fill_null(False).all()  # noqa: E712
                      .alias(f"__all.{c}") for c in reasons]
        partners = [(pl.col(f"{f.name}.partner.{p}") == True).fill_null(False).all()  # noqa: E712
                    .alias(f"__all.partner.{p}") for p, _ in f.partners]
        rank = pl.col(f"{f.name}.reason").replace_strict(
            order, list(range(len(order))), default=None, return_dtype=pl.Int32)
        agg = leaves.group_by(INDEX).agg(
            pl.col(_VALUE).first().alias("status"), *everywhere, *partners,
            rank.max().alias("__last"))
        first_everywhere = _first_index([pl.col(f"__all.{c}") for c in reasons])
        reason = pl.when(pl.col("status").is_null()).then(pl.lit(None, dtype=pl.String)) \
            .when(first_everywhere.is_not_null()).then(
            _pick(reasons, first_everywhere)).otherwise(_pick(order, pl.col("__last")))
        applies = pl.col("status") == APPLIES
        sure = [pl.when(pl.col(f"__all.partner.{p}")).then(pl.lit(p)) for p, _ in f.partners]
        cols = [pl.col(INDEX), pl.col("status").alias(f"{f.name}.status"),
                reason.alias(f"{f.name}.reason")]
        if f.partners:
            first_partner = _first_index([pl.col(f"__all.partner.{p}") for p, _ in f.partners])
            cols.append(pl.when(applies).then(_pick([p for p, _ in f.partners], first_partner))
                        .alias(f"{f.name}.partner"))
            cols.append(pl.when(applies).then(pl.concat_str(sure, separator=";",
                                                            ignore_nulls=True))
                        .alias(f"{f.name}.partners"))
        return agg.select(cols)


def _first_index(conditions: Sequence[pl.Expr]) -> pl.Expr:
    """Per row, the position of the first condition that holds, else null."""
    out: pl.Expr = pl.lit(None, dtype=pl.UInt32)
    for i in reversed(range(len(conditions))):
        out = pl.when(conditions[i].fill_null(False)).then(pl.lit(i, dtype=pl.UInt32)) \
            .otherwise(out)
    return out


def _pick(values: Sequence[str], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(list(values), dtype=pl.String)).gather(index)


def outcome_columns(findings: Sequence[Finding]) -> list[str]:
    out = []
    for f in findings:
        out += [f"{f.name}.status", f"{f.name}.reason"]
        if f.partners:
            out += [f"{f.name}.partner", f"{f.name}.partners"]
    return [*out, "pathway"]


_BUILT: dict[int, tuple[Reasoner, FrameExact]] = {}


def frame_exact(reasoner: Reasoner, possible: Callable[[set[str]], pl.Expr]) -> FrameExact:
    """The pass of a rule set, built once (its candidate facts are read from the trees)."""
    hit = _BUILT.get(id(reasoner))
    if hit is None or hit[0] is not reasoner:
        hit = _BUILT[id(reasoner)] = (reasoner, FrameExact(reasoner, possible))
    return hit[1]
