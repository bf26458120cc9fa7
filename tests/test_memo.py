"""The memo (safethird.explain): the answer first, every clause phrased in words of its own,
unknowns never shown as "No", windows with their last day, and the same memo as text, Markdown
and HTML. Snapshots of a few memos live in tests/snapshots/ (reviewed by reading them);
``SAFETHIRD_UPDATE_SNAPSHOTS=1 pytest tests/test_memo.py`` rewrites them."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

import safethird
from safethird.decide import Determination, rules
from safethird.explain import render_html, render_markdown, render_text
from safethird.law.variants import VARIANTS
from safethird.logic.expr import Clause
from safethird.memo.phrasebook import load

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).parent / "snapshots"
EXAMPLES = sorted((ROOT / "examples").glob("*.json")) + sorted(
    (SNAPSHOTS / "inputs").glob("*.json"))
CASES = [c for p in sorted((Path(__file__).parent / "cases").glob("*.yaml"))
         for c in yaml.safe_load(p.read_text("utf-8"))]


def _decide(path: Path) -> Determination:
    return safethird.decide(json.loads(path.read_text("utf-8")))


def _case(c: dict[str, Any]) -> Determination:
    return safethird.decide(c["facts"], as_of=c["as_of"], variant=c.get("variant"))


# --- the phrasebook covers the rule set ---------------------------------------------------------

def _clause_ids() -> set[str]:
    ids = set()
    for variant in [None, *VARIANTS]:
        for node in rules(variant).nodes.values():
            ids |= {n.id for n in node.walk() if isinstance(n, Clause)}
    return ids


LANGUAGES = sorted(p.stem for p in (ROOT / "src/safethird/law/data/phrasing").glob("*.yaml"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_clause_of_the_rule_set_is_phrased(lang: str) -> None:
    """A new clause must be phrased in every language: when it holds, when it does not, and
    when unknown."""
    book = load(lang)
    missing = sorted(i for i in _clause_ids() if not book.has_phrasing(i))
    assert not missing, f"phrase these clauses in law/data/phrasing/{lang}.yaml: {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_pathway_has_a_title(lang: str) -> None:
    from safethird.decide import PATHWAYS

    assert set(PATHWAYS) <= set(load(lang).data["pathways"])


def test_an_unknown_clause_id_falls_back_to_its_own_text() -> None:
    from safethird.memo.phrasebook import Context, phrase

    book = load("en")
    ctx = Context(book, {}, dt.date(2020, 1, 1))
    assert phrase(book, "new.clause", True, ctx, "the person did X") == \
        "The person did X (holds)."
    assert phrase(book, "new.clause", None, ctx, "the person did X") == \
        "The person did X (not known)."


# --- words of their own ------------------------------------------------------------------------

# Each case is decided once per session, when a test first needs it: collecting the tests
# decides nothing.
MEMO_CASES = [(p.stem, "example", str(p)) for p in EXAMPLES] + [
    (c["name"][:60], "case", str(i)) for i, c in enumerate(CASES)]


@functools.cache
def _decided(kind: str, key: str) -> Determination:
    return _decide(Path(key)) if kind == "example" else _case(CASES[int(key)])


@functools.cache
def _memo(kind: str, key: str) -> str:
    d = _decided(kind, key)
    text = render_text(d, detail="full")
    return text if kind == "example" else text + render_markdown(d)


@pytest.mark.parametrize(("kind", "key"), [(k, x) for _, k, x in MEMO_CASES],
                         ids=[n for n, _, _ in MEMO_CASES])
def test_no_memo_says_no_before_a_sentence_or_doubles_a_negative(kind: str, key: str) -> None:
    memo = _memo(kind, key)
    assert "No —" not in memo and "Yes —" not in memo and "Unknown —" not in memo
    for sentence in re.split(r"(?<=[.?!])\s+", memo.replace("\n", " ")):
        assert not re.search(r"\bdid not\b[^.;:]*\bnot\b", sentence), sentence
        assert not re.search(r"\bnot\b[^.;:]*\bdid not\b", sentence), sentence
    # every clause is phrased: the fallback marks "(holds)" / "(does not hold)" never appear
    assert "(does not hold)." not in memo and "(holds)." not in memo, key


@pytest.mark.parametrize(("kind", "key"), [(k, x) for _, k, x in MEMO_CASES],
                         ids=[n for n, _, _ in MEMO_CASES])
def test_an_unknown_is_never_shown_as_no(kind: str, key: str) -> None:
    from safethird.memo.build import build

    for detail in ("full", "summary"):
        m = build(_decided(kind, key), detail)
        for f in m.findings:
            for x in f.trace + f.lines:
                if x.value is None:
                    assert re.search(r"not (yet )?known|not recorded|not yet decided", x.text), \
                        (x.clause, x.text)
                else:
                    assert "not known" not in x.text, (x.clause, x.text)


def test_the_answer_comes_first_then_the_pathway_then_what_is_open() -> None:
    text = render_text(_decide(SNAPSHOTS / "inputs" / "salvadoran-texas-unknowns.json"))
    order = [text.index(s) for s in ("Asylum Cooperative Agreements:",
                                     "Third-country transit bar:", "Pathway:",
                                     "Questions still open:")]
    assert order == sorted(order)


def test_a_window_shows_its_last_day_inclusive() -> None:
    law = rules().law
    order = next(o for o in law.transit_bar.court_orders if o.id == "east-bay-ca9-2019-08-16")
    assert order.until == dt.date(2019, 9, 9)  # exclusive in the data
    text = render_text(_decide(ROOT / "examples" / "guatemalan-arizona-2019-08.json"))
    assert "from 2019-08-16 through 2019-09-08" in text
    assert "2019-09-09" not in text


def test_a_negative_result_is_said_in_words_of_its_own() -> None:
    d = _decide(SNAPSHOTS / "inputs" / "honduran-texas-ninth-circuit-window.json")
    text = " ".join(render_text(d, detail="full").split())
    assert "the ninth circuit injunction" in text.lower()
    assert "does not cover this person: they arrived in Texas, in the Fifth Circuit." in text


def test_the_summary_names_in_one_line_the_agreements_that_fail_alike() -> None:
    d = _decide(ROOT / "examples" / "guatemalan-arizona-2019-08.json")  # arrived 2019-08-20
    summary = " ".join(render_text(d).split())
    line = next(x for x in summary.split(" · ") if x.startswith("None of the agreements with"))
    for name in ("Guatemala (2019)", "Honduras (2025)", "Ecuador", "Uganda", "Paraguay",
                 "Belize", "Guatemala (2025)", "Antigua and Barbuda", "Dominica",
                 "Saint Kitts and Nevis"):
        assert name in line
    assert "reaches an arrival on 2019-08-20: each covers arrivals from 2019-11-19." in line
    # each agreement's own citation is kept, once
    for cite in ("84 FR 64095", "FR notice of 2025-11-17 (volume:page not found)",
                 "84 FR 63994 (prospective only)"):
        assert line.count(cite) == 1, cite
    # an agreement failing for another reason keeps its own line
    assert "The El Salvador agreement does not reach this arrival: it covers arrivals from " \
        "2020-12-23" in summary
    assert "The Ecuador agreement" not in summary
    # the full trace keeps every agreement's own clause
    full = " ".join(render_text(d, detail="full").split())
    assert "The Ecuador agreement does not reach this arrival" in full
    assert "The Honduras (2025) agreement does not reach this arrival" in full
    spanish = " ".join(render_html(d, "es").split())
    assert "Ninguno de los acuerdos con Guatemala (2019), Honduras (2025), Ecuador" in spanish


def test_the_summary_asks_once_for_the_threshold_finding_on_each_partner() -> None:
    # a Venezuelan who crossed into Texas on 2026-10-01 via CO, PA, HN, GT and MX
    import copy

    d = copy.copy(_decide(SNAPSHOTS / "inputs" / "venezuelan-texas-2026.json"))
    # the memo's grouping, whatever the engine ranks: four partners' threshold findings open
    d.missing_facts = [f"fear_of_receiving_country.{p}" for p in ("GT", "HN", "EC", "UG")]
    d.questions = []
    summary = " ".join(render_text(d).split())
    assert summary.count("Did the threshold screening find") == 1
    assert "tortured in each of these countries: Guatemala, Honduras, Ecuador and Uganda (one " \
        "finding for each)? (fear_of_receiving_country.GT, fear_of_receiving_country.HN, " \
        "fear_of_receiving_country.EC, fear_of_receiving_country.UG)" in summary
    full = render_text(d, detail="full")
    assert full.count("Did the threshold screening find") == 4


def test_the_text_and_markdown_memos_speak_the_memos_language() -> None:
    d = _decide(SNAPSHOTS / "inputs" / "venezuelan-texas-2026.json")
    for memo in (render_text(d, "full", "es"), render_markdown(d, "full", "es")):
        assert "Conclusiones" in memo or "Acuerdos de Cooperación en materia de Asilo" in memo
        assert "Vía procesal" in memo
        assert "Law this answer rests on" not in memo and "Full trace" not in memo
        assert "Aún no se sabe si la persona tiene antecedentes penales" in memo
        assert "= desconocido" in memo  # an unknown fact of the trace, in Spanish


def test_a_partners_clause_is_read_against_its_own_agreement() -> None:
    from safethird.memo.build import build

    d = _decide(ROOT / "examples" / "guatemalan-arizona-2019-08.json")
    trace = build(d, "full").findings[0].trace
    honduras = [x.text for x in trace if x.clause == "aca.HN.in_force"]
    assert honduras == [
        "The Honduras (2019) agreement does not reach this arrival: it covers arrivals from "
        "2020-05-01, and they arrived on 2019-08-20.",
        "The Honduras (2025) agreement does not reach this arrival: it covers arrivals from "
        "2019-11-19, and they arrived on 2019-08-20."]


def test_a_clause_shows_only_the_facts_that_decided_it() -> None:
    from safethird.memo.build import build

    d = _decide(ROOT / "examples" / "stateless-unknowns.json")  # no leg dates at all
    m = build(d, "full")
    entered = next(x for f in m.findings for x in f.trace
                   if x.clause == "transit_bar.entered_before_rule")
    assert entered.value is False
    assert entered.facts == {"arrival.date": "2020-02-01"}  # not six unknown leg dates
    trafficking = next(x for f in m.findings for x in f.trace
                       if x.clause == "transit_bar.exception_trafficking_victim")
    assert trafficking.facts == {"trafficking_victim": None}


# --- the engine's fields, when it fills them -----------------------------------------------------

def test_questions_branches_assumptions_warnings_and_reasons_that_hold_regardless() -> None:
    d = _decide(SNAPSHOTS / "inputs" / "salvadoran-texas-unknowns.json")
    d.missing_facts = ["trafficking_victim"]
    d.questions = [{"fact": "trafficking_victim", "settles": [
        {"value": True, "pathway": "credible_fear_asylum", "findings": {}},
        {"value": False, "pathway": "undetermined", "findings": {}}],
        "alone": False, "with": ["route[1].protection_claim"],
        "clauses": ["transit_bar.exception_trafficking_victim"],
        "citations": ["8 CFR 208.13(c)(4)(ii)"]}]
    d.branches = [{"fact": "aca_invoked", "value": True, "pathway": "aca_threshold_screening",
                   "text": "if DHS invokes the agreement"}]
    d.assumptions = [{"fact": "metered_before_2019_07_16", "value": False,
                      "source": "--assume", "findings": ["transit_bar"]}]
    d.warnings = [{"code": "not_encoded", "measure": "title-42",
                   "message": "Title 42 expulsions may apply and are not decided here.",
                   "citations": ["42 U.S.C. 265"]}]
    # the unknown facts the finding reads whose answer cannot change it
    d.findings["transit_bar"].holds_regardless = ["last_habitual_residence",
                                                  "route[1].protection_claim"]
    for memo in (render_text(d), render_markdown(d), render_html(d)):
        flat = " ".join(memo.split())
        assert "Is the person a victim of a severe form of trafficking" in flat
        assert "yes → Credible-fear screening with asylum available (credible_fear_asylum)" in \
            flat.replace("credible\\_fear\\_asylum", "credible_fear_asylum")
        assert "route[1].protection_claim" in flat
        assert "one answer settles the pathway by itself" not in flat  # "alone" is false here
        assert "8 CFR 208.13(c)(4)(ii)" in flat.split("trafficking in persons (8 CFR 214.11)?")[1]
        assert "If DHS invokes the agreement: Threshold screening" in flat
        assert "metered" in flat and "--assume" in flat
        assert "title-42: Title 42 expulsions may apply" in flat and "42 U.S.C. 265" in flat
        assert "This holds whatever the answers to: the country of last lawful habitual " \
            "residence; the protection claim in Mexico." in flat
    flat = " ".join(render_html(d, "es").split())
    assert "Esto se cumple sean cuales sean las respuestas a: el país de la última residencia " \
        "habitual legal; la solicitud de protección en México." in flat
    assert "title-42: Las órdenes de expulsión del Título 42" in flat  # said in Spanish first
    assert "Si el DHS invoca el acuerdo: Entrevista preliminar" in flat
    assert "Title 42 expulsions may apply" in flat  # then the law data's own message


def test_every_fact_has_a_name_for_the_sentence_of_what_a_finding_holds_regardless_of() -> None:
    from safethird import facts
    from safethird.memo.build import _fact_name, _question_text
    from safethird.memo.phrasebook import Context

    for lang in LANGUAGES:
        book = load(lang)
        ctx = Context(book, {"route": [{"country": "MX"}]}, dt.date(2020, 1, 1), rules().law)
        for path in facts.FACTS:
            if path == "as_of":
                continue
            concrete = path.replace("[]", "[0]").replace("*", "GT")
            name = _fact_name(book, ctx, concrete)
            assert name and name != concrete and "[" not in name, (lang, path, name)
            # a noun phrase of the phrasebook's own, not the question it would fall back on
            assert name != _question_text(book, ctx, concrete).rstrip("?"), (lang, path)


# --- HTML: valid, accessible, self-contained ------------------------------------------------------

class _Outline(HTMLParser):
    VOID = frozenset({"meta", "br", "link", "img", "hr", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.headings: list[int] = []
        self.lang: str | None = None
        self.external: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        for k in ("src", "href"):
            if a.get(k):
                self.external.append(a[k] or "")
        if tag == "script":
            self.errors.append("script")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
        else:
            self.stack.pop()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_html_memo_is_valid_accessible_and_self_contained(path: Path) -> None:
    d = _decide(path)
    html = render_html(d, detail="full")
    p = _Outline()
    p.feed(html)
    assert html.startswith("<!DOCTYPE html>")
    assert p.lang == "en"
    assert not p.errors and not p.stack, (p.errors, p.stack)
    assert not p.external  # no external resources: it prints from the case file alone
    assert p.headings[0] == 1 and p.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(p.headings, p.headings[1:], strict=False))
    # status in words, not colour; the law version, engine version and as-of date on the page
    for f in d.findings.values():
        assert load().word(f.status) in html
    assert d.law_version in html and d.engine_version in html and d.as_of.isoformat() in html
    assert "<title>" in html


# --- snapshots -----------------------------------------------------------------------------------

def _normalized(text: str, d: Determination) -> str:
    return text.replace(d.law_version, "<law-version>").replace(
        f"safethird {d.engine_version}", "safethird <engine-version>").replace(
        f"<dd>{d.engine_version}</dd>", "<dd><engine-version></dd>")


SNAPSHOT_CASES = [(p, "text", "summary") for p in EXAMPLES] + [
    (ROOT / "examples" / "honduran-el-paso-2019.json", "text", "full"),
    (ROOT / "examples" / "honduran-el-paso-2019.json", "markdown", "summary"),
    (SNAPSHOTS / "inputs" / "salvadoran-texas-unknowns.json", "html", "summary"),
]


@pytest.mark.parametrize(("path", "fmt", "detail"), SNAPSHOT_CASES,
                         ids=[f"{p.stem}-{f}-{d}" for p, f, d in SNAPSHOT_CASES])
def test_memo_snapshot(path: Path, fmt: str, detail: str) -> None:
    d = _decide(path)
    render = {"text": render_text, "markdown": render_markdown, "html": render_html}[fmt]
    got = _normalized(render(d, detail=detail), d)
    ext = {"text": "txt", "markdown": "md", "html": "html"}[fmt]
    snap = SNAPSHOTS / f"{path.stem}.{detail}.{ext}"
    if os.environ.get("SAFETHIRD_UPDATE_SNAPSHOTS"):
        snap.write_text(got, encoding="utf-8")
    assert snap.exists(), f"no snapshot {snap.name}: run with SAFETHIRD_UPDATE_SNAPSHOTS=1"
    assert got == snap.read_text(encoding="utf-8"), \
        f"{snap.name} changed: read the diff, then SAFETHIRD_UPDATE_SNAPSHOTS=1 to accept"


def test_cli_writes_markdown_and_html(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    example = str(ROOT / "examples" / "honduran-el-paso-2019.json")
    for fmt, start in (("markdown", "# Determination"), ("html", "<!DOCTYPE html>")):
        p = subprocess.run([sys.executable, "-m", "safethird.cli", "decide", example,
                            "--format", fmt, "--detail", "full"], capture_output=True,
                           text=True, env=env, timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith(start)
        assert "Full trace" in p.stdout and "8 CFR 208.13(c)(4)(ii)" in p.stdout
    p = subprocess.run([sys.executable, "-m", "safethird.cli", "decide", example, "--detail",
                        "everything"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_a_question_that_settles_the_pathway_alone_says_so() -> None:
    d = _decide(SNAPSHOTS / "inputs" / "salvadoran-texas-unknowns.json")
    d.missing_facts = ["unaccompanied_child"]
    d.questions = [{"fact": "unaccompanied_child", "settles": [
        {"value": True, "pathway": "uac_section_240", "findings": {}}], "alone": True,
        "with": [], "clauses": [], "citations": []}]
    text = " ".join(render_text(d).split())
    assert "(unaccompanied_child) — one answer settles the pathway by itself — settles the " \
        "pathway: yes → Section 240 removal proceedings (unaccompanied child) " \
        "(uac_section_240)" in text
