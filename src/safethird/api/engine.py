"""The one place where the workspace calls the engine (``safethird.decide``, the memo and the law
data), so the engine's API can change in one place.

``determine`` passes ``assume`` through when the engine takes it (the exact-engine issue adds
``decide(..., assume=...)``); until then a request with assumptions is refused, never answered
as if the assumptions had been applied."""

from __future__ import annotations

import datetime as dt
import inspect
from functools import cache
from typing import Any

from safethird.decide import Determination
from safethird.decide import decide as _decide
from safethird.facts import CaseError


class Unsupported(ValueError):
    """The engine cannot do what was asked (``field`` names the request field)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


class UnknownVariant(ValueError):
    pass


@cache
def _takes_assume() -> bool:
    return "assume" in inspect.signature(_decide).parameters


def check_variant(variant: str | None) -> None:
    from safethird.law.variants import UnknownVariant as _Unknown
    from safethird.law.variants import parse_variants

    try:
        parse_variants(variant)
    except _Unknown as exc:
        raise UnknownVariant(str(exc)) from None


def decision(facts: dict[str, Any], *, as_of: dt.date | None = None,
             variant: str | None = None, assume: dict[str, Any] | None = None
             ) -> Determination:
    """The engine's Determination for ``facts``. Raises CaseError (naming the fact),
    UnknownVariant or Unsupported."""
    check_variant(variant)
    kwargs: dict[str, Any] = {}
    if assume:
        if not _takes_assume():
            raise Unsupported("assume", "assumptions are not supported by this engine version "
                              "yet: leave the facts unknown instead")
        kwargs["assume"] = assume
    return _decide(facts, as_of=as_of, variant=variant, **kwargs)


def determine(facts: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The determination as CONTRACT.md section 2 shapes it (JSON-able)."""
    return decision(facts, **kwargs).to_dict()


def memo_html(d: Determination, lang: str = "en") -> str:
    """The memo as an HTML fragment: the engine's HTML memo when it has one, else its text."""
    from html import escape

    from safethird import explain

    render_html = getattr(explain, "render_html", None)
    if render_html is not None:
        return render_html(d, lang)
    return f"<pre class=\"memo\">{escape(explain.render_text(d))}</pre>"


def law_summary() -> dict[str, Any]:
    from safethird.law.data import load_law

    law = load_law()

    def day(x: Any) -> str | None:
        d = getattr(x, "date", x)
        return d.isoformat() if isinstance(d, dt.date) else None

    tb = law.transit_bar
    return {
        "version": law.version,
        "agreements": [{"id": a.id, "partner": a.partner, "signed": day(a.signed),
                        "entry_into_force": day(a.entry_into_force),
                        "suspended": day(a.suspended),
                        "operation": [{"from": day(p.from_), "until": day(p.until)}
                                      for p in a.operation]} for a in law.agreements],
        "rules": [{"id": tb.id, "provision": tb.provision,
                   "versions": [{"id": v.id, "from": day(v.from_), "until": day(v.until)}
                                for v in tb.versions],
                   "court_orders": len(tb.court_orders)}],
        "countries": len(law.countries),
        "sources": len(law.sources),
    }


def law_item(item_id: str) -> str:
    """The text of ``safethird law show ID``; KeyError when there is no such item."""
    from safethird.law.data import load_law
    from safethird.law.document import render_item

    return render_item(load_law(), item_id)


def variants() -> list[dict[str, str]]:
    from safethird.law.variants import VARIANTS

    return [{"name": v.name, "summary": v.summary, "source": v.source}
            for v in VARIANTS.values()]


__all__ = [
    "CaseError",
    "UnknownVariant",
    "Unsupported",
    "decision",
    "determine",
    "law_item",
    "law_summary",
    "memo_html",
    "variants",
]
