"""A determination as the parts of a memo: the answer first (each finding with its reason, the
decisive clause and its citation), then the pathway, the questions still open, the decisions of
an authority the outcome turns on, the assumptions, the warnings and what would change it.

Everything is read from the determination's fields (CONTRACT.md section 2 and the fields the
engine adds: ``questions``, ``branches``, ``assumptions``, ``warnings``,
``FindingResult.holds_regardless``); a field that is absent or empty is simply not shown. The
reasons of a finding are the clauses of its trace named ``<finding>.<reason>``; the parts shown
under a clause are the ones its phrasebook entry names.

The summary is short: the parts that came out alike for the same reason (the agreements no
arrival date reaches, say) are one line naming them all with all their citations, an agreement
out of play is said once (for its first failing condition), and the same question about several
partners is asked once. ``detail="full"`` keeps every clause.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from safethird.memo.phrasebook import (
    Context,
    Phrasebook,
    _key_pattern,
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
        questions=_questions(book, ctx, d, detail), branches=_branches(book, ctx, d),
        assumptions=_assumptions(book, ctx, d), warnings=_warnings(book, ctx, d),
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
    # A clause repeated with the same text and citation is one clause (a reason can wrap the
    # clause it is named after: the first wins); the same id with another citation is the same
    # clause made for another agreement of the same partner, and is kept.
    trace: list[Mapping[str, Any]] = []
    made_for: list[str | None] = []
    seen_keys: set[tuple[str, str, str]] = set()
    occurrences: dict[str, int] = {}
    for t in f.trace:
        k = occurrences.get(t["id"], 0)
        occurrences[t["id"]] = k + 1
        key = (t["id"], str(t.get("text", "")), str(t.get("citation", "")))
        if key in seen_keys or any(u["id"] == t["id"] and u["value"] != t["value"]
                                   and u.get("citation") == t.get("citation") for u in trace):
            continue
        seen_keys.add(key)
        trace.append(t)
        made_for.append(_agreement_made_for(ctx.law, t["id"], k))
    repeated = {i for i in occurrences
                if sum(1 for t in trace if t["id"] == i) > 1}
    by_id: dict[str, Mapping[str, Any]] = {}
    for t in trace:
        by_id.setdefault(t["id"], t)
    reasons = [t for t in trace if t["id"].startswith(name + ".")
               and "." not in t["id"][len(name) + 1:]]
    extra = {"partner": f.partner}

    reason_ids = [t["id"] for t in reasons]
    first_holding = next((i for i, t in enumerate(reasons) if t["value"] is True), None)
    labels = _agreement_labels(ctx)

    def line_ctx(i: int) -> tuple[Context, dict[str, str]]:
        """The context of trace entry i: its agreement, named with its year when the same
        clause is there for another agreement of the partner too."""
        agreement = made_for[i]
        t = trace[i]
        own = dict(labels)
        items: dict[str, str] = {}
        if agreement is not None:
            items["partner"] = agreement
            partner = t["id"].split(".")[1]
            own[partner] = labels.get(agreement, partner) if t["id"] in repeated else \
                str(_country_name(partner, ctx))
        return replace(ctx, labels=own), items

    def line(i: int, level: int = 0, facts: bool = False) -> Line:
        t = trace[i]
        c, items = line_ctx(i)
        text = None
        if t["value"] is False and t["id"] in reason_ids and first_holding is not None \
                and reason_ids.index(t["id"]) > first_holding:
            entry = book.entry(t["id"])
            if entry is not None and entry.data.get("after_earlier"):
                text = choose(entry.data["after_earlier"], c.with_entry(entry, **extra))
        if text is None:
            text = phrase(book, t["id"], t["value"], c, t.get("text", ""), items=items, **extra)
        return Line(text, t.get("citation"), t["id"], t["value"],
                    _deciding_facts(t) if facts else {}, level)

    index = {id(t): i for i, t in enumerate(trace)}

    def parts(t: Mapping[str, Any], want: bool | str | None) -> list[Line]:
        entry = book.entry(t["id"])
        patterns = entry.data.get("parts", []) if entry else []
        shown = [i for i, p in enumerate(trace)
                 if any(fnmatch.fnmatchcase(p["id"], pat) for pat in patterns)]
        if want != "all":
            shown = [i for i in shown if trace[i]["value"] is want]
        if detail == "summary" and want is False:
            # an agreement is out of play for its first failing condition: the summary says
            # only that one (the full trace keeps them all)
            out_of_play: set[str] = set()
            kept = []
            for i in shown:
                agreement = made_for[i] or trace[i]["id"].split(".")[1]
                if agreement not in out_of_play:
                    out_of_play.add(agreement)
                    kept.append(i)
            shown = kept
        if detail == "summary":
            return _grouped(book, shown, trace, line, line_ctx, level=1, **extra)
        return [line(i, 1) for i in shown]

    def decisive(t: Mapping[str, Any]) -> bool:
        entry = book.entry(t["id"])
        return bool(entry.data.get("decisive", True)) if entry else True

    lines: list[Line] = []
    if f.status == "applies":
        applies_id = f"{name}.{f.reason}"
        headline = Line(phrase(book, applies_id, True, ctx, "", **extra),
                        f.citations[-1] if f.citations else None, applies_id, True)
        lines = [line(index[id(t)]) for t in reasons]
    elif f.status == "does_not_apply":
        t = by_id.get(f"{name}.{f.reason}")
        if t is None:
            headline = Line(f"{f.reason}", None)
        else:
            headline = line(index[id(t)])
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
                lines.append(line(index[id(t)]))
                lines.extend(parts(t, None))
    full: list[Line] = []
    if detail == "full":
        # a reason is written over the earlier ones (each stage keeps what is still in play):
        # under each reason show the facts it adds, not again those of the stages before it
        shown_facts: set[str] = set()
        for i, t in enumerate(trace):
            x = line(i, 0, facts=True)
            if t["id"] in reason_ids:
                x.facts = {k: v for k, v in x.facts.items() if k not in shown_facts}
                shown_facts |= set(t.get("facts") or {})
            full.append(x)
    title = book.data.get("findings", {}).get(name, name)
    return FindingPart(
        name=name, title=title, provision=f.citations[0] if f.citations else "",
        status=f.status, status_text=book.word(f.status), reason=f.reason, partner=f.partner,
        agreement=f.agreement, headline=headline, lines=lines,
        regardless=_regardless(book, ctx, getattr(f, "holds_regardless", None)),
        citations=list(f.citations), trace=full)


_MARK = "\x00"


def _grouped(book: Phrasebook, shown: list[int], trace: list[Mapping[str, Any]],
             line: Any, line_ctx: Any, level: int, **extra: Any) -> list[Line]:
    """The parts of a clause for the summary: those of one entry that came out alike for the
    same reason (their grouped sentence reads the same whichever agreement it names) are one
    line naming them all, with all their citations; a part alone keeps its own sentence."""
    groups: dict[tuple[str, bool | None, str], list[int]] = {}
    order: list[int | tuple[str, bool | None, str]] = []
    for i in shown:
        t = trace[i]
        entry = book.entry(t["id"])
        phrases = entry.grouped(t["value"]) if entry else None
        signature = None
        if entry is not None and phrases:
            c, items = line_ctx(i)
            signature = choose(phrases, c.with_entry(entry, items=items, partners=[_MARK],
                                                     **extra))
        if signature is None or entry is None:
            order.append(i)
            continue
        key = (entry.key, t["value"], signature)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(i)
    out = []
    for k in order:
        if isinstance(k, int):
            out.append(line(k, level))
            continue
        members = groups[k]
        if len(members) == 1:
            out.append(line(members[0], level))
            continue
        first = trace[members[0]]
        entry = book.entry(first["id"])
        assert entry is not None
        c, items = line_ctx(members[0])
        names = []
        for i in members:
            ci, _ = line_ctx(i)
            partner = trace[i]["id"].split(".")[1]
            names.append(str(ci.labels.get(partner) or _country_name(partner, ci)))
        text = choose(entry.grouped(first["value"]),
                      c.with_entry(entry, items=items, partners=names, **extra)) or ""
        out.append(Line(text[:1].upper() + text[1:],
                        _merged_citations([trace[i].get("citation") for i in members]),
                        first["id"], first["value"], {}, level))
    return out


def _merged_citations(citations: list[str | None]) -> str | None:
    """The citations of several clauses as one, each authority once, in order."""
    out: list[str] = []
    for c in citations:
        for part in _split_citation(c or ""):
            if part and part not in out:
                out.append(part)
    return "; ".join(out) or None


def _split_citation(text: str) -> list[str]:
    # split on "; " outside parentheses ("(a; b)" is one authority)
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == ";" and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _agreement_made_for(law: Any, clause_id: str, k: int) -> str | None:
    """The agreement a partner's clause (``aca.<partner>.<kind>``) was made for: the clauses of
    a partner's agreements come in the law data's order, so its k-th occurrence is the k-th
    agreement with that partner."""
    parts = clause_id.split(".")
    if law is None or len(parts) != 3 or parts[0] != "aca":
        return None
    mine = [a.id for a in getattr(law, "agreements", ()) if a.partner == parts[1]]
    return mine[k] if k < len(mine) else None


def _agreement_labels(ctx: Context) -> dict[str, str]:
    """Each agreement's name in the memo: its partner, with the year (the last part of its
    id) when the partner has several agreements."""
    agreements = list(getattr(ctx.law, "agreements", ()) or ())
    out = {}
    for a in agreements:
        name = str(_country_name(a.partner, ctx))
        year = re.search(r"(\d{4})$", a.id)
        several = sum(1 for b in agreements if b.partner == a.partner) > 1
        out[a.id] = f"{name} ({year.group(1)})" if several and year else name
    return out


def _country_name(code: str, ctx: Context) -> Any:
    from safethird.memo.phrasebook import FILTERS

    return FILTERS["country"](code, ctx)


def _regardless(book: Phrasebook, ctx: Context, value: Any) -> list[str]:
    """``holds_regardless``: the unknown facts a finding reads whose answer cannot change it,
    as one sentence naming each by its question; an entry that is already a sentence (an
    older engine's) is kept as it is."""
    if not value:
        return []
    if isinstance(value, str):
        value = [value]
    paths = [v for v in value if isinstance(v, str) and _FACT_PATH.fullmatch(v)]
    sentences = [str(v) for v in value if v not in paths]
    if paths:
        names = [_fact_name(book, ctx, p) for p in paths]
        found = choose(book.data.get("regardless"),
                       ctx.with_entry(None, facts="; ".join(names)))
        sentences.insert(0, found or f"{book.word('regardless')}: {'; '.join(names)}.")
    return sentences


_FACT_PATH = re.compile(r"[a-z_]+(\[[^\]]*\])?(\.[A-Za-z0-9_\-]+)*")


def _fact_name(book: Phrasebook, ctx: Context, path: str) -> str:
    """A fact as a noun phrase for a list: the phrasebook's ``facts`` entry, else its
    question."""
    names = book.data.get("facts", {})
    entry = None
    if path in names:
        entry = names[path]
    else:
        for key, value in names.items():
            if "{" in key:
                m = _key_pattern(key).fullmatch(path)
                if m:
                    found = choose(value, replace(ctx.with_entry(None), captures=m.groupdict()))
                    if found:
                        return found
    found = choose(entry, ctx.with_entry(None)) if entry is not None else None
    return found or _question_text(book, ctx, path).rstrip("?")


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


def _questions(book: Phrasebook, ctx: Context, d: Determination,
               detail: str = "full") -> list[Question]:
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
    return _grouped_questions(book, ctx, out) if detail == "summary" else out


def _grouped_questions(book: Phrasebook, ctx: Context, questions: list[Question]
                       ) -> list[Question]:
    """The summary asks once the same question about several agreements' partners (the
    threshold screening's finding on each): one question naming them all, at the place of
    the first, when what each answer settles is the same."""
    grouped = book.data.get("questions_grouped", {})
    keys: dict[int, tuple[str, str]] = {}
    for n, q in enumerate(questions):
        for key in grouped:
            m = _key_pattern(key).fullmatch(q.fact)
            if m and "partner" in m.groupdict():
                keys[n] = (key, m.group("partner"))
                break
    groups: dict[tuple[str, tuple[str, ...], bool, tuple[str, ...]], list[int]] = {}
    for n, (key, _) in keys.items():
        q = questions[n]
        groups.setdefault((key, tuple(q.settles), q.alone, tuple(q.citations)), []).append(n)
    out = []
    done: set[int] = set()
    for n, q in enumerate(questions):
        if n in done:
            continue
        sig = next((g for g, members in groups.items() if n in members), None)
        members = groups.get(sig, [n]) if sig else [n]
        if len(members) < 2:
            out.append(q)
            continue
        done |= set(members)
        key = keys[n][0]
        names = [str(_country_name(keys[i][1], ctx)) for i in members]
        text = choose(grouped[key], ctx.with_entry(None, partners=names)) or q.text
        facts = [questions[i].fact for i in members]
        together = [w for i in members for w in questions[i].together_with if w not in facts]
        out.append(Question(", ".join(facts), text, q.settles, list(dict.fromkeys(together)),
                            q.alone, q.citations))
    return out


def _answer(book: Phrasebook, ctx: Context, value: Any, path: str = "") -> str:
    if value is None:
        return book.word("unknown_value")
    return text_of(value_words(value, ctx, path), ctx)


def _branches(book: Phrasebook, ctx: Context, d: Determination) -> list[str]:
    out = []
    for b in getattr(d, "branches", None) or []:
        value = b.get("value")
        own = book.data.get("branches", {}).get(b.get("fact"), {})
        text = (own.get(str(value).lower()) if isinstance(value, bool) else None) or \
            b.get("text") or \
            f"if {b.get('fact')} = {_answer(book, ctx, value, b.get('fact', ''))}"
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


def _warnings(book: Phrasebook, ctx: Context, d: Determination) -> list[Line]:
    """Each warning with its message (the law data's, in English); in another language its
    phrasebook sentence comes first, so the memo says in its own language what it is."""
    out = []
    for w in d.warnings or []:
        label = w.get("measure") or w.get("code") or ""
        cites = "; ".join(w.get("citations") or []) or None
        message = w.get("message", "")
        if book.language != "en" and label:
            own = phrase(book, f"warning.{label}", True, ctx, "")
            if book.has_phrasing(f"warning.{label}"):
                message = f"{own} {message}".strip()
        out.append(Line(f"{label}: {message}" if label else message, cites))
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
