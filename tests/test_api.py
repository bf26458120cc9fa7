"""The REST API in process (SQLite and PostgreSQL): stateless determinations, cases CRUD with
optimistic locking, organisations and roles, pagination, problem+json errors naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safethird import decide

EXAMPLE = json.loads((Path(__file__).resolve().parent.parent / "examples" /
                      "honduran-el-paso-2019.json").read_text())
PROBLEM = "application/problem+json"


def _problem(r, status: int, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field
    return body


def test_a_stateless_determination_is_the_engines(api) -> None:
    r = api.post("/v1/determinations", json={"facts": EXAMPLE, "as_of": "2019-12-02"})
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(decide(EXAMPLE, as_of="2019-12-02").to_dict()))
    r = api.post("/v1/determinations", json={"facts": EXAMPLE, "as_of": "2019-12-02",
                                             "variant": "transit-required"})
    assert r.json()["variant"] == "transit-required"


@pytest.mark.parametrize(("body", "status", "field"), [
    (b"{not json", 400, "body"),
    (b"[1, 2]", 422, "body"),
    (b'{"as_of": "2019-12-02"}', 422, "facts"),
    (b'{"facts": {"arrival": {"date": "Dec 1"}}}', 422, "facts.arrival.date"),
    (b'{"facts": {"route": [{"country": "XX"}]}}', 422, "facts.route[0].country"),
    (b'{"facts": {"colour": "blue"}}', 422, "facts.colour"),
    (b'{"facts": {}, "as_of": "2019-02-30"}', 422, "as_of"),
    (b'{"facts": {}, "as_of": 20191202}', 422, "as_of"),
    (b'{"facts": {}, "variant": "no-such-variant"}', 422, "variant"),
    (b'{"facts": {}, "extra": 1}', 422, "extra"),
])
def test_a_malformed_request_is_a_4xx_problem_naming_the_field(api, body, status, field) -> None:
    r = api.post("/v1/determinations", content=body,
                 headers={"content-type": "application/json"})
    _problem(r, status, field)


def test_assumptions_are_refused_until_the_engine_takes_them(api) -> None:
    import inspect

    r = api.post("/v1/determinations", json={"facts": {}, "assume": {"fear_claimed": True}})
    if "assume" in inspect.signature(decide).parameters:
        assert r.status_code == 200 and r.json()["assumptions"]
    else:
        assert "not supported" in _problem(r, 422, "assume")["detail"]


def test_cases_need_credentials(api) -> None:
    r = api.get("/v1/cases")
    _problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    _problem(api.get("/v1/cases", headers={"Authorization": "Bearer st_wrong"}), 401)
    _problem(api.post("/v1/cases", json={}), 401)
    _problem(api.post("/v1/cases", json={}, headers=api.org_a.auth("viewer")), 403)


def test_case_crud_with_history_and_determinations(api) -> None:
    h = api.org_a.auth()
    r = api.post("/v1/cases", json={"label": "Walk-in 14", "facts": EXAMPLE}, headers=h)
    assert r.status_code == 201
    case = r.json()
    assert r.headers["location"] == f"/v1/cases/{case['id']}" and case["version"] == 1
    assert r.headers["cache-control"] == "no-store"
    assert api.get(f"/v1/cases/{case['id']}", headers=api.org_a.auth("viewer")).json() == case

    d = api.post(f"/v1/cases/{case['id']}/determinations", json={"as_of": "2019-12-02"},
                 headers=h)
    assert d.status_code == 201 and d.json()["pathway"] == "aca_transfer"
    changed = EXAMPLE | {"fear_of_receiving_country": {"GT": True}}
    r = api.put(f"/v1/cases/{case['id']}", json={"version": 1, "facts": changed}, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2
    d2 = api.post(f"/v1/cases/{case['id']}/determinations", json={"as_of": "2019-12-02"},
                  headers=h)
    assert d2.json()["pathway"] == "credible_fear_barred"
    page = api.get(f"/v1/cases/{case['id']}/determinations", headers=h).json()
    assert [x["pathway"] for x in page["items"]] == ["credible_fear_barred", "aca_transfer"]
    assert [x["case_version"] for x in page["items"]] == [2, 1]
    hist = api.get(f"/v1/cases/{case['id']}/history", headers=h).json()
    assert {"fact": "fear_of_receiving_country.GT", "from": False, "to": True,
            "version": 2, "by": "screener@a.org"}.items() <= hist[-1].items()

    assert api.delete(f"/v1/cases/{case['id']}", headers=h).status_code == 204
    _problem(api.get(f"/v1/cases/{case['id']}", headers=h), 404, "case_id")


def test_the_second_of_two_writers_gets_409_and_nothing_is_lost(api) -> None:
    h = api.org_a.auth()
    case = api.post("/v1/cases", json={"facts": {}}, headers=h).json()
    first = api.put(f"/v1/cases/{case['id']}", json={"version": 1,
                                                     "facts": {"fear_claimed": True}}, headers=h)
    assert first.status_code == 200
    second = api.put(f"/v1/cases/{case['id']}", json={"version": 1,
                                                      "facts": {"family_unit": True}},
                     headers=api.org_a.auth("admin"))
    assert "changed by someone else" in _problem(second, 409, "version")["detail"]
    assert api.get(f"/v1/cases/{case['id']}", headers=h).json()["facts"] == {
        "fear_claimed": True}


def test_another_organisations_case_is_not_found(api) -> None:
    case = api.post("/v1/cases", json={"facts": EXAMPLE}, headers=api.org_a.auth()).json()
    other = api.org_b.auth("admin")
    for method, extra in (("get", {}), ("delete", {}),
                          ("put", {"json": {"version": 1, "facts": {}}})):
        _problem(getattr(api, method)(f"/v1/cases/{case['id']}", headers=other, **extra), 404)
    _problem(api.post(f"/v1/cases/{case['id']}/determinations", json={}, headers=other), 404)
    assert api.get("/v1/cases", headers=other).json()["total"] == 0


def test_a_case_id_with_a_nul_character_is_not_found(api) -> None:
    case = api.post("/v1/cases", json={"facts": EXAMPLE}, headers=api.org_a.auth()).json()
    nul = case["id"][:5] + "%00" + case["id"][5:]
    for method, extra in (("get", {}), ("delete", {}),
                          ("put", {"json": {"version": 1, "facts": {}}})):
        _problem(getattr(api, method)(f"/v1/cases/{nul}", headers=api.org_a.auth(), **extra),
                 404)
    _problem(api.get(f"/v1/cases/{nul}/history", headers=api.org_a.auth()), 404)
    _problem(api.get(f"/v1/cases/{nul}/determinations", headers=api.org_a.auth()), 404)


def test_pagination(api) -> None:
    h = api.org_a.auth()
    ids = [api.post("/v1/cases", json={"label": str(i)}, headers=h).json()["id"]
           for i in range(5)]
    first = api.get("/v1/cases?limit=2", headers=h).json()
    assert (first["total"], first["offset"], first["limit"]) == (5, 0, 2)
    seen = [c["id"] for c in first["items"]]
    nxt = first["next"]
    while nxt:
        page = api.get(nxt, headers=h).json()
        seen += [c["id"] for c in page["items"]]
        nxt = page["next"]
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    _problem(api.get("/v1/cases?limit=0", headers=h), 422, "limit")
    _problem(api.get("/v1/cases?limit=100000", headers=h), 422, "limit")
    _problem(api.get("/v1/cases?offset=-1", headers=h), 422, "offset")


def test_law_and_variants(api) -> None:
    law = api.get("/v1/law").json()
    assert law["version"] == decide({}, as_of="2019-12-02").law_version
    assert "us-gt-aca-2019" in [a["id"] for a in law["agreements"]]
    item = api.get("/v1/law/us-gt-aca-2019").json()
    assert item["id"] == "us-gt-aca-2019" and "GT" in item["text"]
    _problem(api.get("/v1/law/no-such-thing"), 404, "item_id")
    assert "transit-required" in [v["name"] for v in api.get("/v1/variants").json()]


def test_openapi_and_docs_are_served(api) -> None:
    spec = api.get("/openapi.json").json()
    assert {"/v1/determinations", "/v1/cases", "/v1/cases/{case_id}", "/v1/law",
            "/v1/variants", "/v1/cases/{case_id}/determinations"} <= set(spec["paths"])
    assert PROBLEM in spec["paths"]["/v1/cases"]["get"]["responses"]["401"]["content"]
    assert api.get("/docs").status_code == 200
