"""The memo's phrasebooks in every language: each has the shape of en.yaml (the same keys, the
same alternatives in the same order under the same conditions, the same placeholders in each
sentence), uses the workspace glossary's renderings of legal terms, and renders a memo that
says its language and carries no English sentence where a phrase exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import safethird
from safethird.explain import render_html

ROOT = Path(__file__).resolve().parent.parent
PHRASING = ROOT / "src/safethird/law/data/phrasing"
GLOSSARY = yaml.safe_load((ROOT / "src/safethird/web/glossary.yaml").read_text("utf-8"))
OTHERS = sorted(p.stem for p in PHRASING.glob("*.yaml") if p.stem != "en")
PLACEHOLDER = re.compile(r"\{[^{}]+\}")
# keys whose values are not sentences: compared as they are
VERBATIM = {"if", "parts", "decisive", "language", "engine"}


def _book(lang: str) -> dict[str, Any]:
    return yaml.safe_load((PHRASING / f"{lang}.yaml").read_text("utf-8"))


def _pairs(en: Any, other: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(path, English, translation) for every sentence; fails on any difference of shape."""
    if isinstance(en, dict):
        assert isinstance(other, dict) and set(other) == set(en), \
            f"{path}: keys differ: {sorted(set(en) ^ set(other or {}))}"
        out = []
        for k in en:
            if k in VERBATIM and k != "engine":
                assert other[k] == en[k], f"{path}.{k}: {other[k]!r} != {en[k]!r}"
                continue
            out += _pairs(en[k], other[k], f"{path}.{k}" if path else str(k))
        return out
    if isinstance(en, list):
        assert isinstance(other, list) and len(other) == len(en), \
            f"{path}: {len(en)} alternatives in English, {len(other or [])} here"
        return [p for i, (a, b) in enumerate(zip(en, other, strict=True))
                for p in _pairs(a, b, f"{path}[{i}]")]
    if isinstance(en, str):
        assert isinstance(other, str) and other.strip(), f"{path}: not phrased"
        return [(path, en, other)]
    assert other == en, f"{path}: {other!r} != {en!r}"
    return []


@pytest.mark.parametrize("lang", OTHERS)
def test_a_phrasebook_has_the_shape_and_placeholders_of_the_english_one(lang: str) -> None:
    pairs = _pairs({k: v for k, v in _book("en").items() if k != "language"},
                   {k: v for k, v in _book(lang).items() if k != "language"})
    assert len(pairs) > 300
    for path, en, other in pairs:
        assert sorted(PLACEHOLDER.findall(other)) == sorted(PLACEHOLDER.findall(en)), path


@pytest.mark.parametrize("lang", OTHERS)
def test_a_phrasebook_uses_the_glossarys_legal_terms(lang: str) -> None:
    pairs = _pairs({k: v for k, v in _book("en").items() if k != "language"},
                   {k: v for k, v in _book(lang).items() if k != "language"})
    used = set()
    for term in GLOSSARY["terms"]:
        for path, en, other in pairs:
            if term["en"].lower() in en.lower():
                used.add(term["en"])
                assert term[lang].lower() in other.lower(), (path, term, other)
    assert len(used) >= 15  # the memo's own terms are in the glossary, not only the pages'


def test_the_spanish_memo_is_in_spanish() -> None:
    d = safethird.decide(json.loads((ROOT / "examples/salvadoran-denied-in-mexico.json")
                                    .read_text("utf-8")))
    html = render_html(d, "es")
    assert '<html lang="es">' in html
    assert "Conclusiones" in html and "Vía procesal" in html
    assert "Se aplica la excepción (i): solicitó protección en México" in html
    english = render_html(d, "en")
    for sentence in ("Exception (i) applies", "Findings", "does not apply", "Pathway"):
        assert sentence in english and sentence not in html
