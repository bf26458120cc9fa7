"""English and Spanish: gettext catalogues (``translations/<lang>/LC_MESSAGES/messages.po``),
compiled in memory when first needed (no build step); English is the source language."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "es": "Español"}
TRANSLATIONS = Path(__file__).parent / "translations"


@cache
def translations(lang: str) -> NullTranslations:
    po = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def pick(requested: str | None, accept_language: str | None) -> str:
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
