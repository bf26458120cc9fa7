"""The interview: which question to ask next, with which control, why; how an answer becomes a
fact. Pure functions over the engine's determination (its ranked ``missing_facts``, its
``questions`` when the engine gives them, else the clauses of its trace) — no provision is named
here, so a new rule module needs no change to the interview.

"Don't know" is an answer: the fact stays unknown and is not asked again unless the screener
edits it."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pycountry

from safethird import facts as facts_mod

DONT_KNOW = object()  # the answer "don't know": the fact stays unknown

# The question for each fact (English msgids; translations in translations/*/messages.po).
QUESTIONS: dict[str, str] = {
    "nationalities": "Of which countries is the person a citizen?",
    "last_habitual_residence": "In which country did the person last live lawfully "
                               "(lawful habitual residence)?",
    "habitual_residence": "In which country did the person last live, lawfully or not?",
    "birth_date": "What is the person's date of birth?",
    "unaccompanied_child": "Is the person an unaccompanied child (under 18, with no parent "
                           "or legal guardian in the United States available to care for "
                           "them)?",
    "family_unit": "Did the person arrive as part of a family unit (a parent or legal "
                   "guardian with minor children)?",
    "arrival.date": "On what date did the person arrive in, enter or try to enter the "
                    "United States?",
    "arrival.border": "Where did the person arrive?",
    "arrival.place": "Did the person arrive at a port of entry or between ports?",
    "arrival.state": "In which US state did the person arrive?",
    "arrival.sector": "In which Border Patrol sector did the person arrive?",
    "arrival.scheduled_appointment": "Did the person present at a port of entry at a "
                                     "pre-scheduled time and place?",
    "route": "Which countries did the person pass through on the way to the United States, "
             "in order?",
    "route[].country": "Which country was this part of the journey?",
    "route[].entered": "When did the person enter this country?",
    "route[].left": "When did the person leave this country?",
    "route[].protection_claim": "Did the person ask this country for protection (asylum), "
                                "and what happened?",
    "trafficking_victim": "Is the person a victim of a severe form of trafficking in "
                          "persons?",
    "admission_document": "What document did the person hold on arrival?",
    "visa_exempt": "Was the person exempt from needing a visa to enter the United States?",
    "fear_claimed": "Has the person said they fear return, or that they want to apply for "
                    "asylum?",
    "fear_of_receiving_country.*": "Was it established in the screening that the person "
                                   "would more likely than not be persecuted or tortured in "
                                   "this country?",
    "public_interest_exception": "Did the US decide it is in the public interest that this "
                                 "person seek protection in the United States?",
    "metered_before_2019_07_16": "Was the person turned back ('metered') at a port of entry "
                                 "before 16 July 2019?",
    "aca_invoked": "Did DHS seek to remove the person under an agreement?",
    "forum": "Who decides the case?",
    "criminal_record": "Does the person have a criminal record?",
    "could_not_use_scheduling_system": "Could the person not access or use the scheduling "
                                       "system (language barrier, illiteracy, technical "
                                       "failure, another serious obstacle)?",
    "parole_process_authorized": "Was the person authorised to travel to the US to seek "
                                 "parole under a DHS-approved process?",
    "exceptionally_compelling": "Were exceptionally compelling circumstances found at the "
                                "time of entry?",
    "as_of": "As of which date should the case be decided?",
}

# The words shown for enum values (msgids).
CHOICES: dict[str, str] = {
    "southern_land": "Southern land border (Mexico)", "northern_land": "Northern land border "
    "(Canada)", "air": "By air", "sea": "By sea", "port_of_entry": "At a port of entry",
    "between_ports": "Between ports of entry", "none": "None",
    "pending": "Asked; the claim is pending", "denied_final": "Asked; finally denied",
    "denied_not_final": "Asked; denied, not final (appeal possible)",
    "granted": "Asked; protection granted", "withdrawn": "Asked, then withdrew the claim",
    "valid_visa": "A valid visa", "other_valid_admission_document": "Another valid "
    "admission document", "transit_visa": "A transit visa",
    "expedited_removal": "An asylum officer (expedited removal)",
    "section_240": "An immigration judge (section 240 proceedings)",
    "acute_medical_emergency": "An acute medical emergency",
    "imminent_extreme_threat": "An imminent and extreme threat to life or safety",
    "trafficking_victim": "A victim of a severe form of trafficking", "other": "Other",
    "san_diego": "San Diego", "el_centro": "El Centro", "yuma": "Yuma", "tucson": "Tucson",
    "el_paso": "El Paso", "big_bend": "Big Bend", "del_rio": "Del Rio", "laredo": "Laredo",
    "rio_grande_valley": "Rio Grande Valley",
}

_INDEX = re.compile(r"\[\d+\]")


def spec_key(path: str) -> str:
    """``route[1].country`` → ``route[].country``; ``fear_of_receiving_country.GT`` →
    ``fear_of_receiving_country.*``."""
    key = _INDEX.sub("[]", path)
    if key in facts_mod.FACTS:
        return key
    return facts_mod.spec(key).path


def kind(path: str) -> str:
    key = spec_key(path)
    return "route" if key == "route" else facts_mod.FACTS[key].kind


_LEG = re.compile(r"route\[(\d+)\]")


def check_path(path: str, facts: dict[str, Any]) -> str:
    """The kind of the fact at ``path`` if this case can hold it, else KeyError: a leg's fact
    needs that leg on the route (``route[1].left`` of a one-leg route names nothing), a
    per-country fact needs its country (not ``*``, not the bare map)."""
    k = kind(path)
    key = spec_key(path)
    if key.endswith(".*") and (path == key[:-2] or path.endswith(("*", "."))):
        raise KeyError(path)
    leg = _LEG.match(path)
    if "[]" in path or (leg and int(leg.group(1)) >= len(facts.get("route") or [])):
        raise KeyError(path)
    return k


class AnswerError(ValueError):
    """A wrong answer, said to the screener in their language: ``msgid`` is the catalogue's
    English text, ``params`` what is put in it after translation (a typed text may hold any
    character, "%" too, so it never enters the text that is translated)."""

    def __init__(self, msgid: str, **params: str):
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params

    def said(self, gettext: Any) -> str:
        text = gettext(self.msgid)
        return text % self.params if self.params else text


@dataclass
class Question:
    fact: str
    kind: str
    text: str
    choices: tuple[str, ...] = ()
    subject: str | None = None  # the country a per-country question is about
    why: list[dict[str, Any]] = field(default_factory=list)
    current: Any = None


def _leg_country(facts: dict[str, Any], path: str) -> str | None:
    m = re.match(r"route\[(\d+)\]", path)
    if not m:
        return None
    legs = facts.get("route") or []
    i = int(m.group(1))
    return legs[i].get("country") if i < len(legs) else None


def question(path: str, determination: dict[str, Any], facts: dict[str, Any]) -> Question:
    key, k = spec_key(path), kind(path)
    subject = path.split(".", 1)[1] if key.endswith(".*") else _leg_country(facts, path)
    return Question(fact=path, kind=k, text=QUESTIONS.get(key, key),
                    choices=facts_mod.FACTS[key].values if k == "enum" else (),
                    subject=subject, why=why_we_ask(determination, path),
                    current=get_fact(facts, path))


def next_question(determination: dict[str, Any], facts: dict[str, Any],
                  dont_know: set[str] | frozenset[str] = frozenset()) -> Question | None:
    """The first of the engine's missing facts not answered "don't know"; None = stop (the
    outcome no longer depends on a fact the screener can still give)."""
    for path in determination.get("missing_facts", []):
        if path not in dont_know:
            return question(path, determination, facts)
    return None


def why_we_ask(determination: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The clauses the fact can settle, with their citations: from the engine's ``questions``
    when it gives them, else the clauses of the trace that read the fact and are unknown."""
    for q in determination.get("questions") or []:
        if q.get("fact") == path:
            cites = q.get("citations") or []
            return [{"clause": c, "text": c, "citation": cites[i] if i < len(cites) else ""}
                    for i, c in enumerate(q.get("clauses") or [])] or \
                   [{"clause": "", "text": "", "citation": c} for c in cites]
    top = path.split("[", 1)[0] if path.startswith("route[") else path
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for finding in determination.get("findings", {}).values():
        for entry in finding.get("trace", []):
            read = entry.get("facts") or {}
            if (path in read or top in read) and entry.get("value") is None \
                    and entry["id"] not in seen:
                seen.add(entry["id"])
                out.append({"clause": entry["id"], "text": entry.get("text", ""),
                            "citation": entry.get("citation", "")})
    return out


# --- answers → facts ------------------------------------------------------------------------

@cache
def country_names() -> dict[str, str]:
    return {c.alpha_2: c.name for c in sorted(pycountry.countries, key=lambda c: c.name)}


def country_code(text: str) -> str:
    text = text.strip()
    if not text:
        raise AnswerError("choose a country")
    if len(text) == 2 and text.upper() in country_names():
        return text.upper()
    low = text.casefold()
    for code, name in country_names().items():
        if name.casefold() == low:
            return code
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        raise AnswerError("no country called %(name)s: choose one from the list",
                          name=repr(text)) from None


def parse_answer(path: str, form: dict[str, list[str]]) -> Any:
    """The value a submitted form gives the fact at ``path`` (DONT_KNOW for "don't know")."""
    values = [v for v in form.get("value", []) if v.strip()]
    if form.get("answer", [""])[0] == "dont_know" or form.get("value", [""]) == ["dont_know"]:
        return DONT_KNOW
    k = kind(path)
    if k == "bool":
        choice = (values or [""])[0]
        if choice not in ("yes", "no"):
            raise AnswerError("answer yes, no or don't know")
        return choice == "yes"
    if not values and k != "countries":
        raise AnswerError("give an answer, or choose don't know")
    if k == "date":
        try:
            return dt.date.fromisoformat(values[0].strip()).isoformat()
        except ValueError:
            raise AnswerError("a date as YYYY-MM-DD") from None
    if k == "country":
        return country_code(values[0])
    if k == "countries":
        if form.get("stateless"):
            return []
        if not values:
            raise AnswerError("name at least one country, or tick stateless")
        return list(dict.fromkeys(country_code(v) for v in values))
    if k == "enum":
        allowed = facts_mod.FACTS[spec_key(path)].values
        if values[0] not in allowed:
            raise AnswerError("choose one of the options")
        return values[0]
    return values[0].strip().upper() if k == "state" else values[0]


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(i) if i else name for name, i in _STEP.findall(path)]


def get_fact(facts: dict[str, Any], path: str) -> Any:
    node: Any = facts
    for step in _steps(path):
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
        else:
            node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def set_fact(facts: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``facts`` with the fact at ``path`` set (None: removed, i.e. unknown)."""
    out = copy.deepcopy(facts)
    steps = _steps(path)
    node: Any = out
    for step, nxt in itertools.pairwise(steps):
        if isinstance(step, int):
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(nxt, int) else {})
    last = steps[-1]
    if value is None:
        if isinstance(node, dict):
            node.pop(last, None)
    else:
        node[last] = value
    return out


def route_edit(facts: dict[str, Any], action: str, index: int = 0, country: str = ""
               ) -> dict[str, Any]:
    """Add, remove or move a leg of the route (the order is the order of the journey);
    ``direct`` records a journey through no other country (an empty route)."""
    legs = copy.deepcopy(facts.get("route") or [])
    if action == "add":
        legs.append({"country": country_code(country)})
    elif action == "direct":
        legs = []
    elif not 0 <= index < len(legs):
        raise AnswerError("no such leg of the route")
    elif action == "remove":
        legs.pop(index)
    elif action in ("up", "down"):
        j = index - 1 if action == "up" else index + 1
        if 0 <= j < len(legs):
            legs[index], legs[j] = legs[j], legs[index]
    else:
        raise AnswerError("unknown route action %(action)s", action=repr(action))
    return facts | {"route": legs}
