"""Exact answers over unknown facts, for a table: the worlds of many cases as rows.

The per-case search (:mod:`safethird.logic.exact`, ``Reasoner.explore``) splits one unknown
fact at a time into the classes the rules can tell apart and re-evaluates each branch in Python.
Here the same search runs on a table: every open world is a row (with the index of the case it
came from); in each round every world still open splits ONE unknown fact into one row per class
value, all worlds are evaluated at once by the vectorized rules (:mod:`vectorize`), and the
settled ones are kept as leaves. A case is dropped from further work as soon as two of its
leaves disagree (that part is then unknown), or a leaf is itself open (the law leaves it open).

Only facts whose classes are the same in every case are split here (booleans, enumerations,
states, and countries the rules compare with constants only): their class lists are columns of
constants. A case that needs another split (a date, a country compared with the case's own
facts, the route or the nationalities unknown), or more worlds than the budget, is returned to
the caller, which decides it with the per-case search.

What a finding reports when its status is settled follows ``Reasoner.outcome``: the first
reason that holds in every leaf, else the last (in the reasons' order) among the leaves'
reasons; the partner is the first whose clause holds in every leaf. Nothing here names a
provision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from safethird import facts as facts_mod
from safethird.logic.exact import is_fixed
from safethird.logic.finding import (
    APPLIES,
    UNDETERMINED,
    Finding,
    finding_columns,
    table_column,
)
from safethird.logic.finding import UNKNOWN as UNKNOWN_STATUS
from safethird.logic.reasoning import Reasoner
from safethird.logic.vectorize import evaluate_frame

INDEX = "__i"  # the case a world came from
_WORLD = "__w"  # a world's number within its round
_VALUE = "__value"  # the part's value at a world (null: open there)
_SPLIT = "__split"  # which fact a world splits on (null: none left to split)


@dataclass(frozen=True)
class Split:
    """An unknown fact the pass can split: its path as the rules read it and, for a fact of
    the route's legs, the leg."""

    pattern: str
    leg: int | None
    classes: tuple[Any, ...]  # empty: the pass cannot split it (the case goes back)

    @property
    def column(self) -> str:
        return "route" if self.leg is not None else self.pattern

    @property
    def field(self) -> str:
        return self.pattern.removeprefix("route[].")

    def unknown(self, columns: set[str]) -> pl.Expr:
        if self.pattern == "route":
            return pl.col("route").is_null() if "route" in columns else pl.lit(True)
        if self.leg is None:
            return pl.col(self.pattern).is_null() if self.pattern in columns else pl.lit(True)
        if "route" not in columns:
            return pl.lit(False)  # no route: no leg to read (the route itself is the split)
        leg = pl.col("route").list.get(self.leg, null_on_oob=True)
        return (pl.col("route").list.len() > self.leg).fill_null(False) \
            & leg.struct.field(self.field).is_null()

    def put(self, value: Any) -> pl.Expr:
        if self.leg is None:
            return pl.lit(value, dtype=facts_mod.COLUMNS[self.pattern]).alias(self.pattern)
        at = pl.int_range(pl.len()) == self.leg
        return pl.col("route").list.eval(
            pl.when(at).then(pl.element().struct.with_fields(
                pl.lit(value, dtype=pl.String).alias(self.field))).otherwise(pl.element())
        ).alias("route")


class FrameExact:
    """The exact pass of one rule set over tables (built once per rule set)."""

    def __init__(self, reasoner: Reasoner, possible: pl.Expr, budget: int = 600,
                 max_legs: int = 16):
        self.reasoner = reasoner
        self.problem = reasoner.problem
        self.possible = possible
        # worlds per case and answer, as the per-case search counts them (branches tried)
        self.budget = budget
        self.max_legs = max_legs

    # --- which facts can be split here ------------------------------------------------------

    def _classes(self, pat: str) -> tuple[Any, ...]:
        """The class values of a fact when they are the same in every case, else ()."""
        if pat == "route" or is_fixed(pat, self.problem.fixed):
            return ()
        try:
            spec = facts_mod.spec(pat)
        except KeyError:
            return ()
        if pat.startswith("route[]."):
            if facts_mod.LEG_DTYPE.to_schema().get(pat.removeprefix("route[].")) != pl.String \
                    or spec.kind != "enum":
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

    @cached_property
    def _candidates(self) -> dict[int, tuple[tuple[Split, tuple[str, ...]], ...]]:
        """Per part: the facts its nodes read, each with the nodes that read it, splittable
        ones first, each group in the law's order of reading."""
        rank = {p: i for i, p in enumerate(self.problem.order)}
        out = {}
        for part, names in enumerate(self.problem.part_nodes):
            readers: dict[str, list[str]] = {}
            for name in names:
                for pat in self.problem.reads[name]:
                    if pat == "as_of" or (pat != "route"
                                          and is_fixed(pat, self.problem.fixed)):
                        continue
                    readers.setdefault(pat, []).append(name)
            found = []
            for pat, who in readers.items():
                classes = self._classes(pat)
                legs = range(self.max_legs) if pat.startswith("route[]") else [None]
                for leg in legs:
                    found.append((Split(pat, leg, classes), tuple(who)))
            found.sort(key=lambda s: (not s[0].classes, rank.get(s[0].pattern, len(rank)),
                                      s[0].pattern, s[0].leg or 0))
            out[part] = tuple(found)
        return out

    # --- evaluation of worlds -----------------------------------------------------------------

    @cached_property
    def _finding_exprs(self) -> dict[str, list[pl.Expr]]:
        return {f.name: finding_columns(f) for f in self.reasoner.findings}

    @cached_property
    def _pathway_expr(self) -> pl.Expr:
        return table_column(self.reasoner.pathway)

    def _evaluate(self, worlds: pl.DataFrame) -> pl.DataFrame:
        nodes = self.reasoner.nodes
        lf = evaluate_frame(worlds.lazy(), nodes)
        derived = [e for f in self.reasoner.findings for e in self._finding_exprs[f.name]]
        return lf.with_columns([*derived, self._pathway_expr]).collect()

    # --- the pass -------------------------------------------------------------------------------

    def decide(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[int]]:
        """Decide the cases of ``frame`` (the fact columns, ``as_of``, and ``INDEX``).

        Returns one row per case decided here: ``INDEX``, each finding's ``status``,
        ``reason``, ``partner`` and ``partners`` (';'-joined, the partners sure to receive the
        person when it applies), and the pathway; and the indexes of the cases the pass could
        not decide (give them to the per-case search)."""
        rs = self.reasoner
        frame = self._prepared(frame)
        back: set[int] = set()
        results = frame.select(INDEX)
        for k, f in enumerate(rs.findings):
            got, lost = self._explore(frame, 2 * k, f)
            back |= lost
            results = results.join(got, on=INDEX, how="left")
        got, lost = self._explore(frame, rs.pathway_part, None)
        back |= lost
        results = results.join(got, on=INDEX, how="left")
        return results.filter(~pl.col(INDEX).is_in(sorted(back))), sorted(back)

    def _prepared(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The decisions an authority does not state, counted as not made (as
        ``Declarations.fill`` does per case); a column for every fact split here (the
        vectorized rules read an absent column as unknown: a null column is the same)."""
        d = self.reasoner.declarations
        fills = [pl.col(u.fact).fill_null(u.value) if u.fact in frame.columns
                 else pl.lit(u.value, dtype=facts_mod.COLUMNS[u.fact]).alias(u.fact)
                 for u in d.unless_stated if u.fact in facts_mod.COLUMNS]
        frame = frame.with_columns(fills) if fills else frame
        extra = {s.pattern for splits in self._candidates.values() for s, _ in splits
                 if s.classes and s.leg is None and s.pattern not in frame.columns}
        return frame.with_columns(pl.lit(None, dtype=facts_mod.COLUMNS[c]).alias(c)
                                  for c in sorted(extra))

    def _explore(self, frame: pl.DataFrame, part: int, f: Finding | None
                 ) -> tuple[pl.DataFrame, set[int]]:
        """One answer (a finding's status, or the pathway) over the worlds of every case."""
        facts = frame.columns
        columns = set(facts)
        candidates = self._candidates[part]
        split_expr = _first_index(
            [s.unknown(columns) & pl.any_horizontal(pl.col(n).is_null() for n in who)
             for s, who in candidates])
        if f is None:
            value = pl.when(pl.col(self.reasoner.pathway.name) != UNDETERMINED) \
                .then(pl.col(self.reasoner.pathway.name))
            keep = [INDEX, _VALUE]
        else:
            value = pl.when(pl.col(f"{f.name}.status") != UNKNOWN_STATUS) \
                .then(pl.col(f"{f.name}.status"))
            keep = [INDEX, _VALUE, f"{f.name}.reason",
                    *(f.column(x.code) for x in f.reasons),
                    *(f"{f.name}.partner.{p}" for p, _ in f.partners)]
        leaves: list[pl.DataFrame] = []
        spent = pl.DataFrame({INDEX: [], "spent": []},
                             schema={INDEX: pl.UInt32, "spent": pl.Int64})
        open_: set[int] = set()  # cases known to be open (two leaves disagree, or one is open)
        back: set[int] = set()
        worlds = frame
        while worlds.height:
            ev = self._evaluate(worlds).with_columns(value.alias(_VALUE))
            settled = ev.filter(pl.col(_VALUE).is_not_null())
            unsettled = ev.filter(pl.col(_VALUE).is_null()).with_columns(
                split_expr.alias(_SPLIT))
            # an open world with nothing left to split: the law leaves it open there
            stuck = unsettled.filter(pl.col(_SPLIT).is_null())
            leaves.append(settled.select(keep))
            open_ |= set(stuck[INDEX].to_list())
            # a split the pass cannot do: the case goes to the per-case search
            unsplit = [j for j, (s, _) in enumerate(candidates) if not s.classes]
            cannot = unsettled.filter(pl.col(_SPLIT).is_in(unsplit))
            back |= set(cannot[INDEX].to_list())
            # two leaves that disagree: open, whatever the other worlds give
            seen = pl.concat(leaves).group_by(INDEX).agg(pl.col(_VALUE).n_unique().alias("n"))
            open_ |= set(seen.filter(pl.col("n") > 1)[INDEX].to_list())
            done = open_ | back
            todo = unsettled.filter(pl.col(_SPLIT).is_not_null()
                                    & ~pl.col(_SPLIT).is_in(unsplit)
                                    & ~pl.col(INDEX).is_in(sorted(done)))
            if not todo.height:
                break
            todo = todo.select(*facts, _SPLIT).with_row_index(_WORLD)
            children = []
            for j in todo[_SPLIT].unique().sort().to_list():
                s = candidates[j][0]
                mine = todo.filter(pl.col(_SPLIT) == j)
                for v in s.classes:
                    children.append(mine.with_columns(s.put(v)))
            kids = pl.concat(children).filter(self.possible)
            # a world none of whose branches is possible stays a leaf, open
            barren = todo.filter(~pl.col(_WORLD).is_in(kids[_WORLD].unique().to_list()))
            open_ |= set(barren[INDEX].to_list())
            count = kids.group_by(INDEX).len("spent").with_columns(
                pl.col("spent").cast(pl.Int64))
            spent = pl.concat([spent, count]).group_by(INDEX).agg(pl.col("spent").sum())
            back |= set(spent.filter(pl.col("spent") >= self.budget)[INDEX].to_list()) - open_
            worlds = kids.filter(~pl.col(INDEX).is_in(sorted(open_ | back))).select(facts)
        back -= open_
        every = pl.concat(leaves).filter(~pl.col(INDEX).is_in(sorted(open_ | back)))
        ids = frame.select(INDEX).filter(~pl.col(INDEX).is_in(sorted(back)))
        if f is None:
            got = every.group_by(INDEX).agg(pl.col(_VALUE).first().alias("pathway"))
            out = ids.join(got, on=INDEX, how="left").with_columns(
                pl.col("pathway").fill_null(UNDETERMINED))
            return out, back
        return ids.join(self._finding_outcome(every, f), on=INDEX, how="left").with_columns(
            pl.col(f"{f.name}.status").fill_null(UNKNOWN_STATUS),
            pl.col(f"{f.name}.reason").fill_null(UNDETERMINED)), back

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
        reason = pl.when(first_everywhere.is_not_null()).then(
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


def frame_exact(reasoner: Reasoner, possible: pl.Expr) -> FrameExact:
    """The pass of a rule set, built once (its candidate facts are read from the trees)."""
    hit = _BUILT.get(id(reasoner))
    if hit is None or hit[0] is not reasoner:
        hit = _BUILT[id(reasoner)] = (reasoner, FrameExact(reasoner, possible))
    return hit[1]
