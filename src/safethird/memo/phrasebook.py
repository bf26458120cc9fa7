"""The phrasebook: the memo's sentences keyed by clause id, with placeholders for the facts and
the law's dates (the file's own header documents the syntax).

A sentence is chosen by the clause's value (``holds`` / ``fails`` / ``unknown``); among its
alternatives the first whose condition holds and whose placeholders are all known is used, so
a sentence never states a fact that is unknown. Ids the phrasebook does not know fall back to
the clause's own text, marked as such.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from safethird import yamltext

_PLACEHOLDER = re.compile(r"\{([^{}|]+)((?:\|[a-z_]+)*)\}")
_KEY_PART = re.compile(r"\{([a-z_]+)\}")
_ROUTE_FILTER = re.compile(r"^route\[([a-z_]+)=([a-z_]+)\]\.([a-z_]+)$")
_PHRASE_KEYS = ("holds", "fails", "unknown")
# the keys of an entry that are not variables its sentences can read
_ENTRY_KEYS = (*_PHRASE_KEYS, "parts", "decisive", "after_earlier", "grouped")


class Missing(Exception):
    """A placeholder whose value is unknown: try the next alternative."""


@dataclass(frozen=True)
class Entry:
    key: str
    data: Mapping[str, Any]
    captures: Mapping[str, str]

    def phrases(self, value: bool | None) -> Any:
        return self.data.get(value_key(value))

    def grouped(self, value: bool | None) -> Any:
        """The sentence for several parts of this entry that came out alike, naming them all
        as ``{partners}``."""
        return (self.data.get("grouped") or {}).get(value_key(value))


def value_key(value: bool | None) -> str:
    return {True: "holds", False: "fails", None: "unknown"}[value]


@dataclass
class Phrasebook:
    language: str
    data: Mapping[str, Any]
    _patterns: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._patterns = [(_key_pattern(k), k) for k in self.clauses if "{" in k]
        self._question_patterns = [(_key_pattern(k), k) for k in self.questions if "{" in k]

    @property
    def clauses(self) -> Mapping[str, Any]:
        return self.data.get("clauses", {})

    @property
    def questions(self) -> Mapping[str, Any]:
        return self.data.get("questions", {})

    def word(self, key: str) -> str:
        return str(self.data.get("words", {}).get(key, key.replace("_", " ")))

    def entry(self, clause_id: str) -> Entry | None:
        """The entry for a clause id: an exact key first, else the first pattern that matches
        (whose parts, e.g. ``{partner}``, the sentences can use as ``{$partner}``)."""
        captures: dict[str, str] = {}
        for pattern, key in self._patterns:
            m = pattern.fullmatch(clause_id)
            if m:
                captures = m.groupdict()
                if clause_id not in self.clauses:
                    return Entry(key, self.clauses[key], captures)
                break
        if clause_id in self.clauses:
            return Entry(clause_id, self.clauses[clause_id], captures)
        return None

    def question_entry(self, path: str) -> Entry | None:
        if path in self.questions:
            return Entry(path, {"holds": self.questions[path]}, {})
        for pattern, key in self._question_patterns:
            m = pattern.fullmatch(path)
            if m:
                return Entry(key, {"holds": self.questions[key]}, m.groupdict())
        return None

    def has_phrasing(self, clause_id: str) -> bool:
        e = self.entry(clause_id)
        return e is not None and all(e.data.get(k) for k in _PHRASE_KEYS)


def _key_pattern(key: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _KEY_PART.finditer(key):
        out.append(re.escape(key[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>[^.\\[\\]]+)")
        pos = m.end()
    out.append(re.escape(key[pos:]))
    return re.compile("".join(out))


@cache
def load(language: str = "en") -> Phrasebook:
    path = resources.files("safethird.law").joinpath(f"data/phrasing/{language}.yaml")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ValueError(f"no phrasebook for language {language!r}") from None
    return Phrasebook(language, yamltext.load(text))


# --- filling a sentence ------------------------------------------------------------------------

@dataclass
class Context:
    """What placeholders can read: the case facts, the as-of date, the law data, the parts of
    the clause id, and the entry's own variables."""

    book: Phrasebook
    record: Mapping[str, Any]
    as_of: dt.date | None
    law: Any = None
    captures: Mapping[str, str] = field(default_factory=dict)
    local: Mapping[str, Any] = field(default_factory=dict)
    # a part of the clause id read as another law-data item: when a partner has several
    # agreements, ``@partner`` is the one this clause was made for
    items: Mapping[str, str] = field(default_factory=dict)
    # the names of the agreements as the memo shows them (``agreement`` filter)
    labels: Mapping[str, str] = field(default_factory=dict)

    def with_entry(self, entry: Entry | None, items: Mapping[str, str] | None = None,
                   **extra: Any) -> Context:
        if entry is None:
            return Context(self.book, self.record, self.as_of, self.law, {}, dict(extra),
                           dict(items or {}), self.labels)
        local = {k: v for k, v in entry.data.items() if k not in _ENTRY_KEYS}
        return Context(self.book, self.record, self.as_of, self.law, entry.captures,
                       local | extra, dict(items or {}), self.labels)

    def resolve(self, expr: str) -> Any:
        expr = expr.strip()
        if expr.startswith("$") and expr[1:] in self.captures:
            return self.captures[expr[1:]]
        expr = re.sub(r"\$([a-z_]+)", lambda m: self.captures.get(m.group(1), m.group(0)),
                      expr.strip())
        if expr == "as_of":
            return self.as_of
        if expr in self.local:
            return self._fill_local(self.local[expr])
        if expr.startswith("@"):
            head, _, rest = expr[1:].partition(".")
            item = law_item(self.law, self.items.get(head) or self.captures.get(head, head))
            return _attr_path(item, rest)
        if expr.startswith("law."):
            return _attr_path(self.law, expr[4:])
        return fact(self.record, expr)

    def _fill_local(self, value: Any) -> Any:
        return fill(value, self) if isinstance(value, str) else value


def fact(record: Mapping[str, Any], path: str) -> Any:
    """A case fact by path, with the route read as columns: ``route.country`` is the list of
    the legs' countries, ``route[protection_claim=denied_final].country`` those of the legs
    with that claim, ``route.claims`` each leg's country and claim."""
    route = record.get("route")
    if path == "route":
        return route
    m = _ROUTE_FILTER.match(path)
    if m:
        if route is None:
            return None
        name, value, want = m.groups()
        return [leg.get(want) for leg in route if leg.get(name) == value] or None
    if path == "route.claims":
        if route is None:
            return None
        return [(leg.get("country"), leg.get("protection_claim")) for leg in route]
    if path.startswith("route."):
        if route is None:
            return None
        values = [leg.get(path[6:]) for leg in route]
        return None if any(v is None for v in values) else values
    m2 = re.match(r"^route\[(\d+)\]\.(.+)$", path)
    if m2:
        i = int(m2.group(1))
        return route[i].get(m2.group(2)) if route is not None and i < len(route) else None
    if path.startswith("fear_of_receiving_country."):
        return (record.get("fear_of_receiving_country") or {}).get(path.split(".", 1)[1])
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def law_item(law: Any, key: str) -> Any:
    """The law-data object with this id (an agreement, a rule version, a court order), or the
    agreement with this partner."""
    return _law_index(law).get(key) if law is not None else None


_INDEX: dict[int, tuple[Any, dict[str, Any]]] = {}


def _law_index(law: Any) -> dict[str, Any]:
    key = id(law)
    if key not in _INDEX or _INDEX[key][0] is not law:  # keeps the law alive: ids stay unique
        index: dict[str, Any] = {}

        def visit(obj: Any, depth: int) -> None:
            if depth > 4 or obj is None or isinstance(obj, str | bytes | int | float | dt.date):
                return
            if isinstance(obj, tuple | list):
                for x in obj:
                    visit(x, depth + 1)
                return
            for attr in ("id", "partner"):
                v = getattr(obj, attr, None)
                if isinstance(v, str):
                    index.setdefault(v, obj)
            fields = getattr(type(obj), "model_fields", None)
            names = list(fields) if fields else [n for n in getattr(obj, "__dataclass_fields__",
                                                                    {}) if n != "files"]
            for n in names:
                if n not in ("sources", "countries", "files"):
                    visit(getattr(obj, n, None), depth + 1)

        visit(law, 0)
        _INDEX[key] = (law, index)
    return _INDEX[key][1]


def _attr_path(obj: Any, path: str) -> Any:
    for part in filter(None, path.split(".")):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, Mapping) else getattr(obj, part, None)
    return obj


def fill(template: str, ctx: Context) -> str:
    """The template with every placeholder filled; raises Missing if one is unknown."""

    def one(m: re.Match[str]) -> str:
        value = ctx.resolve(m.group(1))
        filters = [f for f in m.group(2).split("|") if f]
        for f in filters:
            value = value_words(value, ctx, m.group(1)) if f == "value" else \
                FILTERS[f](value, ctx)
        if value is None or value == [] or value == ():
            raise Missing(m.group(1))
        return text_of(value, ctx)

    return _PLACEHOLDER.sub(one, template)


def choose(phrases: Any, ctx: Context) -> str | None:
    """The first alternative whose condition holds and whose placeholders are known."""
    if phrases is None:
        return None
    for alt in phrases if isinstance(phrases, list) else [phrases]:
        if isinstance(alt, Mapping):
            if not condition(str(alt.get("if", "")), ctx):
                continue
            found = choose(alt.get("text"), ctx)
            if found is not None:
                return found
            continue
        try:
            return fill(str(alt), ctx)
        except Missing:
            continue
    return None


_CONDITION = re.compile(r"^(\S+)\s+(==|!=|<|>=|contains|is)\s+(\S+)$")


def condition(text: str, ctx: Context) -> bool:
    """A condition of the phrasebook; one that reads an unknown value is false."""
    if not text:
        return True
    m = _CONDITION.match(text.strip())
    if not m:
        raise ValueError(f"phrasebook: cannot read the condition {text!r}")
    left, op, right = m.groups()
    a = ctx.resolve(left)
    if op == "is":
        if right == "empty":
            return isinstance(a, list | tuple) and len(a) == 0
        return (a is not None) if right == "known" else (a is None)
    if a is None:
        return False
    b: Any = _literal(right, ctx)
    if b is None:
        return False
    if isinstance(a, dt.date) and isinstance(b, str):
        b = dt.date.fromisoformat(b)
    match op:
        case "==":
            return a == b
        case "!=":
            return a != b
        case "<":
            return a < b
        case ">=":
            return a >= b
        case "contains":
            return b in a
    return False


def _literal(word: str, ctx: Context) -> Any:
    if word in ("true", "false"):
        return word == "true"
    if word.startswith(("@", "law.", "$")) or word == "as_of":
        return ctx.resolve(word)
    return word


# --- values as words ---------------------------------------------------------------------------

def text_of(value: Any, ctx: Context) -> str:
    if isinstance(value, bool):
        return ctx.book.data.get("values", {}).get(str(value).lower(), str(value).lower())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return _join([text_of(v, ctx) for v in value], ctx)
    return str(value)


def _join(items: Sequence[str], ctx: Context) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {ctx.book.word('and')} " + items[-1]


def _each(f: Any) -> Any:
    def apply(value: Any, ctx: Context) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return [f(v, ctx) for v in value]
        return f(value, ctx)
    return apply


def _country(code: Any, ctx: Context) -> Any:
    names = ctx.book.data.get("countries", {})
    if code in names:
        return names[code]
    if ctx.book.language != "en" and isinstance(code, str):
        # CLDR's names in the memo's language (the law data names countries in English)
        from babel import Locale

        name = Locale.parse(ctx.book.language).territories.get(code)
        if name:
            return name
    country = getattr(ctx.law, "countries", {}).get(code) if ctx.law is not None else None
    return country.name if country is not None else code


def _state(code: Any, ctx: Context) -> Any:
    return ctx.book.data.get("states", {}).get(code, code)


def _circuit_name(number: Any, ctx: Context) -> Any:
    return ctx.book.data.get("circuits", {}).get(str(number), f"circuit {number}")


def _circuit(state: Any, ctx: Context) -> Any:
    from safethird.law.circuits import STATE_CIRCUIT

    number = STATE_CIRCUIT.get(state)
    return None if number is None else _circuit_name(number, ctx)


def _last_day(day: Any, ctx: Context) -> Any:
    # the law data's "until" is exclusive; a lawyer reads an end date as the last day
    return None if day is None else day - dt.timedelta(days=1)


def _window(w: Any, ctx: Context) -> Any:
    if w is None:
        return None
    start = getattr(w, "from_", None)
    until = getattr(w, "until", None)
    if until is None:
        return f"{ctx.book.word('from')} {start} {ctx.book.word('no_end')}"
    return f"{ctx.book.word('from')} {start} {ctx.book.word('through')} " \
           f"{until - dt.timedelta(days=1)}"


def _windows(ws: Any, ctx: Context) -> Any:
    if ws is None or len(ws) == 0:
        return None
    return _join([_window(w, ctx) for w in ws], ctx)


def _operated(phases: Any, ctx: Context) -> Any:
    if phases is None:
        return None
    if len(phases) == 0:
        return ctx.book.word("never_operated")
    return f"{ctx.book.word('operated')} {_windows(phases, ctx)}"


def fact_kind(path: str) -> str:
    """``route[1].protection_claim`` → ``route[].protection_claim``: the key of its words."""
    return re.sub(r"\[\d+\]", "[]", path.strip())


def value_words(v: Any, ctx: Context, path: str = "") -> Any:
    """A fact's value in words: the phrasebook's words for that fact's values, else the
    shared ones (``true``/``false``), else the value itself."""
    if v is None:
        return None
    if isinstance(v, list | tuple):
        return [value_words(x, ctx, path) for x in v]
    words = ctx.book.data.get("values", {})
    key = str(v).lower() if isinstance(v, bool) else v
    own = words.get(fact_kind(path), {})
    if isinstance(own, Mapping) and key in own:
        return own[key]
    shared = words.get(key)
    return shared if isinstance(shared, str) else v


def _claims(pairs: Any, ctx: Context) -> Any:
    if pairs is None:
        return None
    unknown = ctx.book.word("unknown_value")
    return "; ".join(
        f"{_country(c, ctx) if c else unknown}: "
        f"{value_words(p, ctx, 'route[].protection_claim') if p else unknown}"
        for c, p in pairs)


def _list(v: Any, ctx: Context) -> Any:
    return v


def _agreement(key: Any, ctx: Context) -> Any:
    """An agreement as the memo names it: its partner, with the year when the partner has
    more than one (a partner code or an agreement id)."""
    if key in ctx.labels:
        return ctx.labels[key]
    item = law_item(ctx.law, key) if isinstance(key, str) else None
    partner = getattr(item, "partner", None) or key
    return _country(partner, ctx)


FILTERS = {
    "country": _each(_country),
    "state": _each(_state),
    "circuit": _each(_circuit),
    "circuits": _each(_circuit_name),
    "last_day": _last_day,
    "window": _window,
    "windows": _windows,
    "operated": _operated,
    "claims": _claims,
    "list": _list,
    "agreement": _each(_agreement),
}


def phrase(book: Phrasebook, clause_id: str, value: bool | None, ctx: Context,
           fallback_text: str = "", **extra: Any) -> str:
    """The sentence for a clause with this value; the clause's own text, marked with how it
    came out, when the phrasebook has nothing that fits."""
    entry = book.entry(clause_id)
    found = choose(entry.phrases(value), ctx.with_entry(entry, **extra)) if entry else None
    if found is not None:
        return found[:1].upper() + found[1:]
    label = {True: book.word("holds"), False: book.word("fails"),
             None: book.word("clause_unknown")}[value]
    text = fallback_text or clause_id
    return f"{text[:1].upper()}{text[1:]} ({label})."
