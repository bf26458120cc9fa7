"""A finding's explanation: its reasons in order with their clauses and the facts that decided
them, the lines that say why it holds, and the trace of every clause under it.

Generic over any finding (logic/finding.py): the reasons, clauses and citations come from the
rule set, the values from an evaluation (or an :class:`~safethird.logic.reasoning.ExactView`,
where a clause settled over every world reads as settled). What never changes for a rule set
(which clauses sit under which, what each reads) is worked out once per finding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from safethird.logic.evaluate import _reads, clauses_under, read_fact
from safethird.logic.expr import And, Clause, Expr, Quantifier
from safethird.logic.finding import APPLIES, Finding, Reason
from safethird.logic.reasoning import jsonable


@dataclass
class FindingResult:
    status: str
    reason: str
    citations: list[str]
    because: list[str]
    trace: list[dict[str, Any]]
    partner: str | None = None
    agreement: str | None = None
    # every partner that could receive the person, in the law data's order (partner first);
    # and those that could, depending on unknown facts or law (None: not a partner finding)
    partners: list[str] | None = None
    partners_possible: list[str] | None = None
    # the unknown facts this finding reads whose answers cannot change it
    holds_regardless: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"status": self.status}
        if self.partner is not None or self.agreement is not None:
            d |= {"partner": self.partner, "agreement": self.agreement}
        if self.partners is not None:
            d |= {"partners": self.partners, "partners_possible": self.partners_possible}
        d |= {"reason": self.reason, "citations": self.citations,
              "because": self.because, "trace": self.trace}
        if self.holds_regardless:
            d["holds_regardless"] = self.holds_regardless
        return d


def format_value(v: Any) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


_VERDICTS = {True: "Yes", False: "No", None: "Unknown"}


def _verdict(v: Any) -> str:
    return _VERDICTS[v]


def sub_clauses(node: Expr) -> list[Clause]:
    """The clauses directly under ``node`` (not nested in another clause)."""
    out: list[Clause] = []

    def visit(n: Expr) -> None:
        if isinstance(n, Quantifier):
            return  # leg-level clauses have a value per leg, shown in the trace
        for c in n.children():
            if isinstance(c, Clause):
                out.append(c)
            elif not isinstance(c, Quantifier):
                visit(c)

    visit(node)
    return list({id(c): c for c in out}.values())


# (what a node reads, the route's length) → the concrete fact paths it reads: the same for every
# case with a route that long
_KEYS: dict[tuple[tuple, int | None], tuple[str, ...]] = {}


def _keys(reads: tuple, legs: int | None) -> tuple[str, ...]:
    got = _KEYS.get((reads, legs))
    if got is None:
        paths, quantifies = reads
        out = ["route"] if quantifies and legs is None else []
        for path, is_leg in paths:
            if is_leg:
                out += [path.replace("[]", f"[{i}]") for i in range(legs or 0)]
            else:
                out.append(path)
        got = _KEYS[(reads, legs)] = tuple(dict.fromkeys(out))
    return got


class _Facts:
    """One case's facts by concrete path, each read, made JSON-ready and formatted once (many
    clauses read the same)."""

    __slots__ = ("_by_reads", "_formatted", "_json", "_legs", "_raw", "record", "route")

    def __init__(self, record: dict[str, Any], route: list[dict[str, Any]] | None):
        self.record, self.route = record, route
        self._legs = None if route is None else len(route)
        self._raw: dict[str, Any] = {}
        self._json: dict[str, Any] = {}
        self._formatted: dict[str, str] = {}
        self._by_reads: dict[tuple, dict[str, Any]] = {}

    def raw(self, key: str) -> Any:
        try:
            return self._raw[key]
        except KeyError:
            pass
        if key == "route":
            v = self.route
        elif key.startswith("route["):
            i, name = int(key[6:key.index("]")]), key.split(".", 1)[1]
            v = (self.route or [])[i].get(name)
        else:
            v = read_fact(self.record, key)
        self._raw[key] = v
        return v

    def of(self, node: Expr, reads: tuple | None = None) -> dict[str, Any]:
        """The facts a node reads, by concrete path (``route[1].country``), with their values
        (``reads``: what it reads, when known)."""
        return {k: self.raw(k) for k in _keys(reads or _reads(node), self._legs)}

    def json(self, node: Expr, reads: tuple) -> dict[str, Any]:
        # the same facts read the same way: one dict for every clause that reads them (a
        # trace is read, never changed)
        got = self._by_reads.get(reads)
        if got is not None:
            return got
        out = self._by_reads[reads] = {}
        cache = self._json
        for k in _keys(reads, self._legs):
            v = cache.get(k, cache)
            if v is cache:
                v = cache[k] = jsonable(self.raw(k))
            out[k] = v
        return out

    def line(self, node: Expr, reads: tuple | None = None) -> str:
        parts = []
        cache = self._formatted
        for k in _keys(reads or _reads(node), self._legs):
            if k == "as_of":
                continue
            v = cache.get(k)
            if v is None:
                v = cache[k] = format_value(self.raw(k))
            parts.append(f"{k} = {v}")
        return f" (facts: {', '.join(parts)})" if parts else ""


@dataclass(frozen=True)
class _Plan:
    """What a finding's explanation reads, worked out once: per reason the node shown and its
    sub-clauses; the clauses of the trace."""

    finding: Finding
    # per reason: the node shown, what it reads, and its sub-clauses with what each reads
    shown: tuple[tuple[Expr, tuple, tuple[tuple[Clause, tuple], ...]], ...]
    trace: tuple[tuple[Clause, tuple], ...]  # each clause with what it reads
    by_code: dict[str, Reason]


_PLANS: dict[int, _Plan] = {}


def _plan(f: Finding) -> _Plan:
    got = _PLANS.get(id(f))
    if got is None or got.finding is not f:
        shown = []
        for reason in f.reasons:
            node = reason.shows if reason.shows is not None else reason.clause.expr
            shown.append((node, _reads(node),
                          tuple((c, _reads(c)) for c in sub_clauses(node))))
        got = _PLANS[id(f)] = _Plan(f, tuple(shown), tuple(
            (c, _reads(c)) for c in clauses_under(finding_root(f))),
            {r.code: r for r in reversed(f.reasons)})
    return got


_ROOTS: dict[int, tuple[Finding, Expr]] = {}


def finding_root(f: Finding) -> Expr:
    """All the finding's reasons under one node (kept: the trace reads it once per rule set)."""
    got = _ROOTS.get(id(f))
    if got is None or got[0] is not f:
        got = _ROOTS[id(f)] = (f, And(tuple(r.clause for r in f.reasons)))
    return got[1]


def _dedupe(xs: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(xs))


def explain_finding(f: Finding, ev: Any, result: dict[str, Any],
                    agreement_of: Callable[[str, dt.date], str | None] | None = None,
                    explain: bool = True) -> FindingResult:
    """The finding's result, with its reasons (``because``) and trace unless ``explain`` is
    false. ``ev`` gives node values; ``agreement_of(partner, as_of)`` names the instrument a
    partner's finding rests on."""
    citations: list[str] = [f.citation]
    because: list[str] = []
    trace: list[dict[str, Any]] = []
    facts = _Facts(ev.record, ev.route) if explain else None
    plan = _plan(f)
    if not explain:  # only the decisive reason's citation, as the loop below finds it
        found = plan.by_code.get(result["reason"])
        if found is not None and ev.value(found.clause) is True:
            citations.append(found.clause.citation)
    value = ev.value
    for reason, (shown, reads, subs) in zip(f.reasons, plan.shown, strict=True) \
            if facts is not None else ():
        v = value(reason.clause)
        because.append(f"{_verdict(v)} — {reason.clause.text} [{reason.clause.citation}]"
                       + ("" if subs else facts.line(shown, reads)))
        for sub, sub_reads in subs:
            sv = value(sub)
            if v is not False or sv is not False or len(subs) <= 3:
                because.append(f"    · {_verdict(sv)} — {sub.text} [{sub.citation}]"
                               + facts.line(sub, sub_reads))
        if v is True and reason.code == result["reason"]:
            citations.append(reason.clause.citation)
            break
    if result["status"] == APPLIES:
        citations.append(f.applies.citation)
        if facts is not None:
            because.append(f"Therefore: {f.applies.text} [{f.applies.citation}]")
    if facts is not None:
        for note in f.notes:
            if ev.value(note) is not False:
                because.append(f"Open question — {note.text} [{note.citation}]")
        json_of = facts.json
        trace = [{"id": c.id, "text": c.text, "citation": c.citation, "value": value(c),
                  "facts": json_of(c, reads)}
                 for c, reads in plan.trace]
    if not f.partners:
        return FindingResult(result["status"], result["reason"], _dedupe(citations), because,
                             trace)
    partner = result.get("partner")
    agreement = agreement_of(partner, ev.as_of) if partner and agreement_of else None
    receiving = {p: ev.value(c) for p, c in f.partners}
    sure = [p for p, v in receiving.items() if v is True] if result["status"] == APPLIES else []
    maybe = [p for p, v in receiving.items() if v is None] \
        if result["status"] != "does_not_apply" else []
    return FindingResult(result["status"], result["reason"], _dedupe(citations), because, trace,
                         partner, agreement, sure, maybe)
