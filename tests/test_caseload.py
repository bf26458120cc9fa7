"""Importing a case table into cases and exporting a caseload as CSV, through the API, on SQLite
and PostgreSQL: the batch's validation and error report, all-or-nothing unless partial, the
roles, the audit entries, and an export that re-imports to the same facts."""

from __future__ import annotations

import io
import json

import polars as pl
import sqlalchemy as sa

from safethird.store import audit
from safethird.store.models import AuditEntry

CASES = [
    {"id": "007", "nationalities": ["HN", "GT"], "arrival": {"date": "2019-12-01",
     "border": "southern_land", "state": "TX"}, "route": [{"country": "GT"}, {"country": "MX"}],
     "fear_claimed": True, "fear_of_receiving_country": {"GT": True}},
    {"id": "b, \"quoted\"", "nationalities": [], "route": [], "unaccompanied_child": False},
    {"route": [{"country": "GT", "entered": "2019-07-01", "protection_claim": "denied_final"},
               {}], "as_of": "2020-01-01", "arrival": {"date": "2019-08-02"}},
]
BAD = (b"id,nationalities,arrival.date\n"
       b"r1,HN,2019-13-01\n"
       b"r2,HN,2019-12-01\n"
       b"r2,SV,\n"
       b"r3,Honduras,\n")


def _upload(api, name: str, data: bytes, role: str = "screener", **params):
    return api.post("/v1/cases/import", params=params, headers=api.org_a.auth(role),
                    files={"file": (name, data, "application/octet-stream")})


def _all_facts(api, org=None) -> list[dict]:
    org = org or api.org_a
    items = api.get("/v1/cases", params={"limit": 200}, headers=org.auth("viewer")).json()
    return [c["facts"] for c in items["items"]]


def _key(facts: dict) -> str:
    return json.dumps(facts, sort_keys=True)


def test_an_exported_caseload_reimports_to_the_same_facts(api) -> None:
    for facts in CASES:
        assert api.post("/v1/cases", json={"facts": facts}, headers=api.org_a.auth()
                        ).status_code == 201
    r = api.get("/v1/cases/export", headers=api.org_a.auth("viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["cache-control"] == "no-store"
    header = r.text.splitlines()[0]
    assert header.startswith("id,nationalities,") and "fear_of_receiving_country.GT" in header
    # into another organisation: the same facts, one case per row, labelled by the id
    r2 = api.post("/v1/cases/import", headers=api.org_b.auth(),
                  files={"file": ("caseload.csv", r.content, "text/csv")})
    assert r2.status_code == 201, r2.text
    body = r2.json()
    assert body["rows"] == 3 and len(body["created"]) == 3 and body["errors"] == []
    assert sorted(map(_key, _all_facts(api, api.org_b))) == sorted(
        map(_key, _all_facts(api, api.org_a)))
    labels = {c["label"] for c in api.get("/v1/cases", headers=api.org_b.auth()).json()["items"]}
    assert {"007", "b, \"quoted\"", "caseload.csv row 3"} == labels


def test_a_parquet_table_is_imported(api) -> None:
    frame = pl.DataFrame({"id": ["p1", "p2"], "nationalities": ["HN", "SV;GT"],
                          "arrival.date": ["2019-12-01", None], "fear_claimed": [True, None]})
    buf = io.BytesIO()
    frame.write_parquet(buf)
    r = _upload(api, "table.parquet", buf.getvalue())
    assert r.status_code == 201, r.text
    got = {f["id"]: f for f in _all_facts(api)}
    assert got["p1"] == {"id": "p1", "nationalities": ["HN"], "arrival": {"date": "2019-12-01"},
                         "fear_claimed": True}
    assert got["p2"] == {"id": "p2", "nationalities": ["SV", "GT"]}


def test_rows_in_error_are_reported_and_nothing_is_imported(api) -> None:
    r = _upload(api, "intake.csv", BAD)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert p["field"] == "file" and "3 of 4 rows" in p["detail"]
    assert [(e["row"], e["line"], e["field"]) for e in p["errors"]] == [
        (1, 2, "arrival.date"), (3, 4, "id"), (4, 5, "nationalities[0]")]
    assert "did you mean HN" in p["errors"][2]["message"]
    assert _all_facts(api) == []


def test_a_partial_import_keeps_the_valid_rows_and_reports_the_others(api, store) -> None:
    r = _upload(api, "intake.csv", BAD, partial="true")
    assert r.status_code == 201
    body = r.json()
    assert [c["row"] for c in body["created"]] == [2] and body["rejected_rows"] == [1, 3, 4]
    assert _all_facts(api) == [{"id": "r2", "nationalities": ["HN"],
                                "arrival": {"date": "2019-12-01"}}]
    with store.session() as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "case.import")).one()
        assert json.loads(entry.detail) == {"rows": 4, "created": 1, "rejected": 3,
                                            "cases": [body["created"][0]["case_id"]]}
        assert audit.verify(s).ok


def test_an_unreadable_table_is_one_problem_naming_the_file_and_line(api) -> None:
    r = _upload(api, "intake.csv", b"id,colour\n1,red\n")
    assert r.status_code == 422
    assert r.json()["detail"].startswith("intake.csv: line 1 (header): column 'colour'")
    assert "safethird-import" not in r.text  # the temporary file's name is not shown
    assert _upload(api, "intake.xlsx", b"PK").json()["field"] == "file"
    assert _upload(api, "t.parquet", b"not parquet").status_code == 422


def test_only_a_screener_imports_and_export_needs_credentials(api, store) -> None:
    assert _upload(api, "t.csv", b"id\nx\n", role="viewer").status_code == 403
    assert api.post("/v1/cases/import", files={"file": ("t.csv", b"id\nx\n")}).status_code == 401
    assert api.get("/v1/cases/export").status_code == 401
    api.post("/v1/cases", json={"facts": {"id": "mine"}}, headers=api.org_a.auth())
    # another organisation's export holds none of this one's cases
    assert "mine" not in api.get("/v1/cases/export", headers=api.org_b.auth("viewer")).text
    with store.session() as s:
        actions = s.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("case.export") == 1


def test_a_malformed_line_is_reported_and_a_too_long_table_refused(api, monkeypatch) -> None:
    r = _upload(api, "t.csv", b'id,nationalities\nm1,HN\nm2,"HN\nm3,GT\n', partial="true")
    assert r.status_code == 201
    body = r.json()
    assert [c["row"] for c in body["created"]] == [1, 3]
    (e,) = body["errors"]
    assert (e["row"], e["line"], e["field"]) == (2, 3, "(row)")
    assert "unbalanced quote" in e["message"]
    from safethird.store import caseload

    monkeypatch.setattr(caseload, "MAX_IMPORT_ROWS", 2)
    r = _upload(api, "t.csv", b"id\na\nb\nc\n")
    assert r.status_code == 422 and "more than 2 rows" in r.json()["detail"]
    assert len(_all_facts(api)) == 2  # the refused table opened no case
