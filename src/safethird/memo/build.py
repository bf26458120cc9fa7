"""A determination as the parts of a memo: the answer first (each finding with its reason, the
decisive clause and its citation), then the pathway, the questions still open, the decisions of
an authority the outcome turns on, the assumptions, the warnings and what would change it.

Everything is read from the determination's fields (CONTRACT.md section 2 and the fields the
engine adds: ``questions``, ``branches``, ``assumptions``, ``warnings``,
``FindingResult.holds_regardless``); a field that is absent or empty is simply not shown. The
reasons of a finding are the clauses of its trace named ``<finding>.<reason>``; the parts shown
under a clause are the ones its phrasebook entry names.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safethird.memo.phrasebook import (
    Context,
    Phrasebook,
    choose,
    load,
    phrase,
    text_of,
    value_words,
)

if TYPE_CHECKING:
    from safethird.decide import Determination

DETAILS = ("summary", "full")


@dataclass
class Line:
    """One sentence of the memo, with the clause it reads and that clause's citation."""

    text: str
    citation: str | None = None
    clause: str | None = None
    value: bool | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # only in the full trace
    level: int = 0


@dataclass
class FindingPart:
    name: str
    title: str
    provision: str
    status: str
    status_text: str
    reason: str
    partner: str | None
    agreement: str | None
    headline: Line
    lines: list[Line]
    regardless: list[str]
    citations: list[str]
    trace: list[Line]

    @property
    def groups(self) -> list[tuple[Line, list[Line]]]:
        """The lines with the parts shown under each (for nested lists)."""
        out: list[tuple[Line, list[Line]]] = []
        for x in self.lines:
            if x.level and out and not out[-1][0].level:
                out[-1][1].append(x)
            else:
                out.append((x, []))
        return out


@dataclass
class Question:
    fact: str
    text: str
    settles: list[str]
    together_with: list[str]
    alone: bool = False  # one answer settles the pathway by itself
    citations: list[str] = field(default_factory=list)


@dataclass
class Memo:
    language: str
    words: Mapping[str, str]
    case_id: str | None
    as_of: str
    law_version: str
    engine_version: str
    variants: tuple[str, ...]
    findings: list[FindingPart]
    pathway: str
    pathway_title: str
    pathway_meaning: str
    pathway_citation: str | None
    questions: list[Question]
    branches: list[str]
    assumptions: list[str]
    warnings: list[Line]
    counterfactuals: list[str]
    detail: str

    def word(self, key: str) -> str:
        return str(self.words.get(key, key.replace("_", " ")))


def _law_for(d: Determination) -> Any:
    from safethird.decide import rules

    try:
        return rules(d.variants or None).law
    except Exception:  # a determination from another law version: render without law data
        return None


def build(d: Determination, detail: str = "summary", language: str = "en") -> Memo:
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    book = load(language)
    law = _law_for(d)
    ctx = Context(book, d.facts or {}, d.as_of, law)
    findings = [_finding(book, ctx, name, f, detail) for name, f in d.findings.items()]
    partner = next((f.partner for f in findings if f.partner), None)
    from safethird.decide import PATHWAYS

    title = choose(book.data.get("pathways", {}).get(d.pathway),
                   ctx.with_entry(None, partner=partner)) or d.pathway
    return Memo(
        language=language, words=book.data.get("words", {}), case_id=d.case_id,
        as_of=d.as_of.isoformat(), law_version=d.law_version, engine_version=d.engine_version,
        variants=tuple(d.variants), findings=findings, pathway=d.pathway,
        pathway_title=title, pathway_meaning=PATHWAYS.get(d.pathway, ""),
        pathway_citation=_trailing_citation(PATHWAYS.get(d.pathway, "")),
        questions=_questions(book, ctx, d), branches=_branches(book, ctx, d),
        assumptions=_assumptions(book, ctx, d), warnings=_warnings(d),
        counterfactuals=_counterfactuals(book, ctx, d), detail=detail)


def _trailing_citation(meaning: str) -> str | None:
    """The citation a pathway's meaning ends with, in parentheses (law/procedure.py)."""
    depth, end = 0, len(meaning.rstrip())
    if not meaning.rstrip().endswith(")"):
        return None
    for i in range(end - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(meaning[i], 0)
        if depth == 0:
            return meaning[i + 1:end - 1]
    return None


def _finding(book: Phrasebook, ctx: Context, name: str, f: Any, detail: str) -> FindingPart:
    # the first clause of an id wins: a reason can wrap the clause it is named after
    trace: list[Mapping[str, Any]] = []
    for t in f.trace:
        if all(t["id"] != u["id"] for u in trace):
            trace.append(t)
    by_id = {t["id"]: t for t in trace}
    reasons = [t for t in trace if t["id"].startswith(name + ".")
               and "." not in t["id"][len(name) + 1:]]
    extra = {"partner": f.partner}

    reason_ids = [t["id"] for t in reasons]
    first_holding = next((i for i, t in enumerate(reasons) if t["value"] is True), None)

    def line(t: Mapping[str, Any], level: int = 0, facts: bool = False) -> Line:
        text = None
        if t["value"] is False and t["id"] in reason_ids and first_holding is not None \
                and reason_ids.index(t["id"]) > first_holding:
            entry = book.entry(t["id"])
            if entry is not None and entry.data.get("after_earlier"):
                text = choose(entry.data["after_earlier"], ctx.with_entry(entry, **extra))
        if text is None:
            text = phrase(book, t["id"], t["value"], ctx, t.get("text", ""), **extra)
        return Line(text, t.get("citation"), t["id"], t["value"],
                    _deciding_facts(t) if facts else {}, level)

    def parts(t: Mapping[str, Any], want: bool | str | None) -> list[Line]:
        entry = book.entry(t["id"])
        patterns = entry.data.get("parts", []) if entry else []
        shown = [p for pid, p in by_id.items()
                 if any(fnmatch.fnmatchcase(pid, pat) for pat in patterns)]
        if want != "all":
            shown = [p for p in shown if p["value"] is want]
        return [line(p, 1) for p in shown]

    def decisive(t: Mapping[str, Any]) -> bool:
        entry = book.entry(t["id"])
        return bool(entry.data.get("decisive", True)) if entry else True

    lines: list[Line] = []
    if f.status == "applies":
        applies_id = f"{name}.{f.reason}"
        headline = Line(phrase(book, applies_id, True, ctx, "", **extra),
                        f.citations[-1] if f.citations else None, applies_id, True)
        lines = [line(t) for t in reasons]
    elif f.status == "does_not_apply":
        t = by_id.get(f"{name}.{f.reason}")
        if t is None:
            headline = Line(f"{f.reason}", None)
        else:
            headline = line(t)
            lines = parts(t, decisive(t))
    else:
        headline = Line(book.word("unknown_finding"), None, None, None)
        # the reasons still open on facts of their own (a stage is also open when only an
        # earlier one is: that one is shown already)
        seen: set[str] = set()
        for t in reasons:
            facts = t.get("facts") or {}
            own_open = [k for k, v in facts.items() if v is None and k not in seen]
            seen |= set(facts)
            if t["value"] is None and (own_open or not facts):
                lines.append(line(t))
                lines.extend(parts(t, None))
    full: list[Line] = []
    if detail == "full":
        # a reason is written over the earlier ones (each stage keeps what is still in play):
        # under each reason show the facts it adds, not again those of the stages before it
        shown: set[str] = set()
        for t in trace:
            x = line(t, 0, facts=True)
            if t["id"] in reason_ids:
                x.facts = {k: v for k, v in x.facts.items() if k not in shown}
                shown |= set(t.get("facts") or {})
            full.append(x)
    title = book.data.get("findings", {}).get(name, name)
    return FindingPart(
        name=name, title=title, provision=f.citations[0] if f.citations else "",
        status=f.status, status_text=book.word(f.status), reason=f.reason, partner=f.partner,
        agreement=f.agreement, headline=headline, lines=lines,
        regardless=list(getattr(f, "holds_regardless", None) or []),
        citations=list(f.citations), trace=full)


def _deciding_facts(t: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a clause was decided on: when it came out true or false, only the known facts
    it read (an unknown one cannot have decided it); when unknown, the ones still open."""
    facts = {k: v for k, v in (t.get("facts") or {}).items() if k != "as_of"}
    if t.get("value") is None:
        return {k: v for k, v in facts.items() if v is None}
    return {k: v for k, v in facts.items() if v is not None}


def _question_text(book: Phrasebook, ctx: Context, path: str) -> str:
    entry = book.question_entry(path)
    found = choose(entry.data["holds"], ctx.with_entry(entry)) if entry else None
    if found:
        return found
    from safethird import facts as facts_mod

    try:
        description = facts_mod.spec(path.split("[")[0] if path.startswith("route[")
                                     else path).description
    except KeyError:
        description = ""
    return f"{path}?" if not description else f"{description[:1].upper()}{description[1:]}?"


def _pathway_title(book: Phrasebook, ctx: Context, code: str, partner: str | None) -> str:
    return choose(book.data.get("pathways", {}).get(code),
                  ctx.with_entry(None, partner=partner)) or code


def _questions(book: Phrasebook, ctx: Context, d: Determination) -> list[Question]:
    detailed = {q.get("fact"): q for q in getattr(d, "questions", None) or []}
    out = []
    for path in d.missing_facts:
        q = detailed.get(path, {})
        settles = []
        for s in q.get("settles", []):
            pathway = s.get("pathway")
            if pathway and pathway != "undetermined":
                settles.append(f"{_answer(book, ctx, s.get('value'), path)} → "
                               f"{_pathway_title(book, ctx, pathway, None)} ({pathway})")
        out.append(Question(path, _question_text(book, ctx, path), settles,
                            list(q.get("with", [])), bool(q.get("alone")),
                            list(q.get("citations", []))))
    return out


def _answer(book: Phrasebook, ctx: Context, value: Any, path: str = "") -> str:
    if value is None:
        return book.word("unknown_value")
    return text_of(value_words(value, ctx, path), ctx)


def _branches(book: Phrasebook, ctx: Context, d: Determination) -> list[str]:
    out = []
    for b in getattr(d, "branches", None) or []:
        text = b.get("text") or \
            f"if {b.get('fact')} = {_answer(book, ctx, b.get('value'), b.get('fact', ''))}"
        code = b.get("pathway", "")
        out.append(f"{text[:1].upper()}{text[1:]}: {_pathway_title(book, ctx, code, None)} "
                   f"({code})")
    return out


def _assumptions(book: Phrasebook, ctx: Context, d: Determination) -> list[str]:
    out = []
    for a in d.assumptions or []:
        used = ", ".join(a.get("findings") or []) or book.word("none")
        source = a.get("source")
        out.append(f"{a.get('fact')} = {_answer(book, ctx, a.get('value'), a.get('fact', ''))}"
                   + (f" ({source})" if source else "")
                   + f"; {book.word('assumption_used_by')}: {used}")
    return out


def _warnings(d: Determination) -> list[Line]:
    out = []
    for w in d.warnings or []:
        label = w.get("measure") or w.get("code") or ""
        cites = "; ".join(w.get("citations") or []) or None
        out.append(Line(f"{label}: {w.get('message', '')}" if label else w.get("message", ""),
                        cites))
    return out


def _counterfactuals(book: Phrasebook, ctx: Context, d: Determination) -> list[str]:
    out = []
    for c in d.counterfactuals or []:
        before = c.get("from") or {}
        changes = "; ".join(
            f"{path}: {_answer(book, ctx, before.get(path), path)} → "
            f"{_answer(book, ctx, new, path)}"
            if path in before else f"{path} → {_answer(book, ctx, new, path)}"
            for path, new in c["change"].items())
        code = c.get("pathway", "")
        out.append(f"{changes}: {_pathway_title(book, ctx, code, None)} ({code})")
    return out
