"""A determination rendered for a lawyer to read against the law: plain text (the command's
default), Markdown, or a printable, self-contained HTML memo for the case file.

All three read the same memo (``safethird.memo.build``): the answer first — each finding with
its reason, the decisive clause and its citation — then the pathway, the questions still open,
the decisions of an authority the outcome turns on, the assumptions, the warnings and what would
change the pathway. ``detail="full"`` adds every clause of the trace with the facts that
decided it. The sentences come from the phrasebook (``law/data/phrasing/<lang>.yaml``).
"""

from __future__ import annotations

import re
import textwrap
from functools import cache
from typing import TYPE_CHECKING

from safethird.memo.build import Line, Memo, build

if TYPE_CHECKING:
    import jinja2

    from safethird.decide import Determination

__all__ = ["FORMATS", "render_html", "render_markdown", "render_text"]

FORMATS = ("text", "json", "markdown", "html")
_NBSP = "\u00a0"


def _wrap(text: str, indent: str, hang: str = "    ") -> str:
    # keep each short citation "[8 CFR 208.13(c)(4)(ii)]" on one line, so it can be searched
    # for
    protected = re.sub(r"\[[^\]]{1,60}\]", lambda m: m.group(0).replace(" ", _NBSP), text)
    out = textwrap.fill(protected, width=100, initial_indent=indent,
                        subsequent_indent=" " * len(indent) + hang, break_on_hyphens=False,
                        break_long_words=False)
    return out.replace(_NBSP, " ")


def _cited(line: Line) -> str:
    return line.text + (f" [{line.citation}]" if line.citation else "")


def _facts(facts: dict, lang: str = "en") -> str:
    from safethird.memo.phrasebook import Context, load, text_of

    book = load(lang)
    ctx = Context(book, {}, None)
    return ", ".join(f"{k} = {book.word('unknown_value') if v is None else text_of(v, ctx)}"
                     for k, v in facts.items())


def _value(v: bool | None) -> str:
    """A clause's value as the JSON trace writes it (true / false / null = unknown)."""
    return {True: "true", False: "false", None: "null"}[v]


def _header(m: Memo) -> list[str]:
    variant = f" · {m.word('variant')} {', '.join(m.variants)}" if m.variants else ""
    return [f"{m.word('case')} {m.case_id or m.word('no_id')} — {m.word('as_of')} {m.as_of}"
            f"{variant}",
            f"{m.word('law_version')} {m.law_version} · {m.word('engine')} {m.engine_version}"]


def render_text(d: Determination, detail: str = "summary", lang: str = "en") -> str:
    """The memo as plain text: the answer first, then the pathway and what is still open."""
    m = build(d, detail, language=lang)
    out = [*_header(m), ""]
    for f in m.findings:
        head = f"{f.title}: {f.status_text.upper()} ({f.reason})"
        if f.partner:
            head += f" → {f.partner} ({f.agreement})"
        out.append(_wrap(head, "", "  "))
        out.append(_wrap(_cited(f.headline), "  "))
        out.extend(_wrap(_cited(x), "  " + "  " * x.level + "· ", "  ") for x in f.lines)
        # what the finding holds regardless of is a sentence of its own, under the reasons
        out.extend(_wrap(r, "  · ", "  ") for r in f.regardless)
        out.append("")
    out.append(_wrap(f"{m.word('pathway')}: {m.pathway} — {m.pathway_title}"
                     + (f" [{m.pathway_citation}]" if m.pathway_citation else ""), "", "  "))
    _text_list(out, m.word("questions"), [
        q.text + f" ({q.fact})"
        + (f" — {m.word('settles_alone')}" if q.alone else "")
        + (f" — {m.word('settles')}: " + "; ".join(q.settles) if q.settles else "")
        + (f" — {m.word('settles_with')} " + ", ".join(q.together_with)
           if q.together_with else "")
        + (f" [{'; '.join(q.citations)}]" if q.citations else "")
        for q in m.questions], numbered=True)
    _text_list(out, m.word("branches"), m.branches)
    _text_list(out, m.word("assumptions"), m.assumptions)
    _text_list(out, m.word("warnings"), [_cited(w) for w in m.warnings])
    _text_list(out, m.word("counterfactuals"), m.counterfactuals)
    out.extend(_uncertain_law(d, m))
    if m.detail == "full":
        out += ["", f"{m.word('trace')}:"]
        for f in m.findings:
            out.append(f"  {f.title}")
            for x in f.trace:
                out.append(_wrap(f"{{{x.clause} = {_value(x.value)}}} {x.text} [{x.citation}]",
                                 "    ", "  "))
                if x.facts:
                    out.append(_wrap(f"{m.word('facts')}: {_facts(x.facts, m.language)}",
                                     "        ", "  "))
    return "\n".join(out).rstrip() + "\n"


def _uncertain_law(d: Determination, m: Memo) -> list[str]:
    """Closing note: the partner agreements this answer rests on, and which of their facts
    stay uncertain (less than a primary source, or to verify), with the sources used."""
    from safethird.decide import rules
    from safethird.law.not_encoded import uncertain_law

    aca = d.findings.get("aca")
    partners = [*(aca.partners or []), *(aca.partners_possible or [])] if aca else []
    notes = uncertain_law(rules(d.variants or None).law, partners, d.as_of)
    if not notes:
        return []
    return ["", f"{m.word('uncertain_law')}:", *(_wrap(f"- {n}", "  ", "  ") for n in notes)]


def _text_list(out: list[str], title: str, items: list[str], numbered: bool = False) -> None:
    if not items:
        return
    out += ["", f"{title}:"]
    for i, item in enumerate(items, 1):
        out.append(_wrap(item, f"  {i}. " if numbered else "  - ", "  "))


# --- Markdown ----------------------------------------------------------------------------------

def _md(text: str) -> str:
    # fact paths and codes read as code, so Markdown leaves their underscores alone
    text = re.sub(r"([*_`<>])", r"\\\1", text)
    return text


def _md_cited(line: Line) -> str:
    return _md(line.text) + (f" \\[{_md(line.citation)}\\]" if line.citation else "")


def render_markdown(d: Determination, detail: str = "summary", lang: str = "en") -> str:
    """The memo as Markdown, for a case file or a notebook."""
    m = build(d, detail, language=lang)
    title = f"{m.word('memo_title')}: {m.word('case').lower()} {m.case_id or m.word('no_id')}"
    out = [f"# {_md(title)}", "",
           f"{m.word('as_of').capitalize()} {m.as_of} · {m.word('law_version')} "
           f"`{m.law_version}` · {m.word('engine')} {m.engine_version}"
           + (f" · {m.word('variant')} `{', '.join(m.variants)}`" if m.variants else ""),
           "", f"## {m.word('findings')}", ""]
    for f in m.findings:
        head = f"### {_md(f.title)}: {f.status_text} (`{f.reason}`)"
        if f.partner:
            head += f" → {f.partner} (`{f.agreement}`)"
        out += [head, "", f"*{_md(f.provision)}*", "", _md_cited(f.headline), ""]
        out += [f"{'  ' * x.level}- {_md_cited(x)}" for x in f.lines]
        out += [f"- {_md(r)}" for r in f.regardless]
        out.append("")
    out += [f"## {m.word('pathway')}", "", f"**{_md(m.pathway_title)}** (`{m.pathway}`)"
            + (f" \\[{_md(m.pathway_citation)}\\]" if m.pathway_citation else ""), ""]
    sections = [
        (m.word("questions"), [
            _md(q.text) + f" (`{q.fact}`)"
            + (f" — {m.word('settles_alone')}" if q.alone else "")
            + (f" — {m.word('settles')}: " + "; ".join(_md(s) for s in q.settles)
               if q.settles else "")
            + (f" — {m.word('settles_with')} " + ", ".join(f"`{w}`" for w in q.together_with)
               if q.together_with else "")
            + (f" \\[{_md('; '.join(q.citations))}\\]" if q.citations else "")
            for q in m.questions], True),
        (m.word("branches"), [_md(b) for b in m.branches], False),
        (m.word("assumptions"), [_md(a) for a in m.assumptions], False),
        (m.word("warnings"), [_md_cited(w) for w in m.warnings], False),
        (m.word("counterfactuals"), [_md(c) for c in m.counterfactuals], False),
    ]
    for title_, items, numbered in sections:
        if items:
            out += [f"## {title_}", ""]
            out += [f"{i}. {x}" if numbered else f"- {x}" for i, x in enumerate(items, 1)]
            out.append("")
    if m.detail == "full":
        out += [f"## {m.word('trace')}", ""]
        for f in m.findings:
            out += [f"### {_md(f.title)}", ""]
            for x in f.trace:
                out.append(f"- `{x.clause} = {_value(x.value)}` {_md_cited(x)}"
                           + (f"<br>{m.word('facts')}: {_md(_facts(x.facts, m.language))}"
                              if x.facts else ""))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- HTML --------------------------------------------------------------------------------------

@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("safethird.memo", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def render_html(d: Determination, lang: str = "en", detail: str = "summary") -> str:
    """A printable, self-contained HTML memo (inline CSS, no scripts, no external resources)."""
    m = build(d, detail, language=lang)
    return _environment().get_template("memo.html.j2").render(m=m, facts=_facts, value=_value)
