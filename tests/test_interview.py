"""The interview without a browser: tests/interview/cases.yaml (facts given → next question or
stop), and how answers become facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from safethird import decide
from safethird.web import interview

ROOT = Path(__file__).resolve().parent.parent
CASES = yaml.safe_load((ROOT / "tests" / "interview" / "cases.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_next_question_or_stop(case: dict) -> None:
    facts = case.get("facts") or json.loads((ROOT / case["facts_file"]).read_text())
    d = decide(facts).to_dict()
    if "pathway" in case:
        assert d["pathway"] == case["pathway"]
    q = interview.next_question(d, facts, set(case.get("dont_know", [])))
    if case["next"] is None:
        assert q is None
        return
    assert q is not None and (q.fact, q.kind) == (case["next"]["fact"],
                                                   case["next"]["control"])
    assert q.text and q.text == interview.QUESTIONS[interview.spec_key(q.fact)]
    if "why_cites" in case:
        assert any(case["why_cites"] in w["citation"] for w in q.why)


def test_every_fact_the_engine_can_ask_has_a_question() -> None:
    from safethird.facts import FACTS

    assert set(FACTS) - {"route"} <= set(interview.QUESTIONS) - {"route"}
    assert all(interview.kind(p) for p in ("route[3].protection_claim",
                                           "fear_of_receiving_country.GT", "route"))


@pytest.mark.parametrize(("path", "form", "value"), [
    ("fear_claimed", {"value": ["yes"]}, True),
    ("fear_claimed", {"value": ["no"]}, False),
    ("fear_claimed", {"value": ["dont_know"]}, interview.DONT_KNOW),
    ("arrival.date", {"value": ["2019-12-01"]}, "2019-12-01"),
    ("arrival.date", {"value": [""], "answer": ["dont_know"]}, interview.DONT_KNOW),
    ("last_habitual_residence", {"value": ["Guatemala"]}, "GT"),
    ("last_habitual_residence", {"value": ["el salvador"]}, "SV"),
    ("last_habitual_residence", {"value": ["HN"]}, "HN"),
    ("nationalities", {"value": ["Honduras", "", "Mexico"]}, ["HN", "MX"]),
    ("nationalities", {"value": ["", ""], "stateless": ["1"]}, []),
    ("arrival.border", {"value": ["southern_land"]}, "southern_land"),
    ("route[1].protection_claim", {"value": ["denied_final"]}, "denied_final"),
    ("fear_of_receiving_country.GT", {"value": ["yes"]}, True),
])
def test_answers_become_values(path: str, form: dict, value: object) -> None:
    assert interview.parse_answer(path, form) == value or \
        interview.parse_answer(path, form) is value


@pytest.mark.parametrize(("path", "form", "message"), [
    ("fear_claimed", {"value": ["maybe"]}, "yes, no or don't know"),
    ("arrival.date", {"value": ["1 Dec 2019"]}, "YYYY-MM-DD"),
    ("last_habitual_residence", {"value": ["Atlantis"]}, "no country called 'Atlantis'"),
    ("nationalities", {"value": [""]}, "at least one country"),
    ("arrival.border", {"value": ["by_balloon"]}, "one of the options"),
])
def test_a_wrong_answer_is_refused_with_a_reason(path: str, form: dict, message: str) -> None:
    with pytest.raises(interview.AnswerError, match=message):
        interview.parse_answer(path, form)


def test_facts_are_set_and_cleared_by_path() -> None:
    f = interview.set_fact({}, "arrival.date", "2019-12-01")
    f = interview.set_fact(f, "fear_of_receiving_country.GT", False)
    assert f == {"arrival": {"date": "2019-12-01"}, "fear_of_receiving_country": {"GT": False}}
    f = interview.set_fact(f | {"route": [{"country": "GT"}, {"country": "MX"}]},
                           "route[1].protection_claim", "denied_final")
    assert f["route"][1] == {"country": "MX", "protection_claim": "denied_final"}
    assert interview.get_fact(f, "route[1].protection_claim") == "denied_final"
    assert "date" not in interview.set_fact(f, "arrival.date", None)["arrival"]


def test_the_route_is_an_ordered_list_edited_leg_by_leg() -> None:
    f = interview.route_edit({}, "add", country="Guatemala")
    f = interview.route_edit(f, "add", country="Mexico")
    f["route"][0]["protection_claim"] = "none"
    f = interview.route_edit(f, "down", 0)
    assert f["route"] == [{"country": "MX"}, {"country": "GT", "protection_claim": "none"}]
    f = interview.route_edit(f, "remove", 0)
    assert f["route"] == [{"country": "GT", "protection_claim": "none"}]
    assert interview.route_edit(f, "direct")["route"] == []
    with pytest.raises(interview.AnswerError):
        interview.route_edit(f, "remove", 5)
