"""The workspace's pages in process (no browser): login, CSRF, lock-out, the interview to its
stop, editing an answer, organisations and roles, headers, Spanish and the glossary."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from safethird.store import Store, accounts
from safethird.web import interview
from safethird.web.app import create_workspace
from safethird.web.i18n import translations
from workspace_fixtures import KEYS

WEB = Path(__file__).resolve().parent.parent / "src" / "safethird" / "web"
PASSWORD = "a long password"
# answers a screener gives, by fact (the route is answered in the route panel)
ANSWERS = {"unaccompanied_child": "no", "fear_claimed": "yes", "arrival.border": "southern_land",
           "arrival.date": "2019-12-01", "nationalities": "Honduras", "birth_date": "1990-04-12",
           "trafficking_victim": "no", "metered_before_2019_07_16": "no",
           "admission_document": "none", "visa_exempt": "no", "arrival.place": "between_ports",
           "arrival.state": "TX", "arrival.sector": "el_paso", "aca_invoked": "yes",
           "habitual_residence": "Honduras", "criminal_record": "no",
           "public_interest_exception": "no",
           "last_habitual_residence": "Honduras", "family_unit": "no",
           "fear_of_receiving_country.GT": "no"}


class Browser:
    """A TestClient that reads the CSRF token and version off the last page."""

    def __init__(self, client: TestClient):
        self.c, self.page = client, None

    def get(self, url: str):
        self.page = self.c.get(url)
        return self.page

    def field(self, name: str) -> str | None:
        m = re.search(rf'name="{name}" value="([^"]*)"', self.page.text)
        return m.group(1) if m else None

    def post(self, url: str, **data):
        data.setdefault("csrf", self.field("csrf"))
        self.page = self.c.post(url, data=data)
        return self.page

    def login(self, email: str, password: str = PASSWORD):
        self.get("/login")
        return self.post("/login", email=email, password=password, next="/cases")


@pytest.fixture
def web(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'web.db'}", keys=KEYS)
    with store.session() as s:
        for email, org, role in (("s@a.org", "A", "screener"), ("v@a.org", "A", "viewer"),
                                 ("s@b.org", "B", "screener")):
            accounts.add_user(s, email, PASSWORD, org=org, role=role)
    app = create_workspace(store)

    def browser() -> Browser:
        return Browser(TestClient(app))

    browser.store = store  # type: ignore[attr-defined]
    yield browser
    store.dispose()


def _other_question(b: Browser) -> str | None:
    """A fact the engine did not name that the screener gives through "answer another
    question" (the engine may name no question while the outcome is still undetermined)."""
    if "The engine names no further question" not in b.page.text:
        return None
    offered = re.findall(r'<option value="([^"]+)">', b.page.text.split('id="other-fact"')[1]
                         .split("</select>")[0])
    return next((f for f in offered if f in ANSWERS), None)


def _answer_until_stop(b: Browser, case: str, limit: int = 25) -> list[str]:
    asked = []
    for _ in range(limit):
        fact = b.field("fact")
        if fact is None:
            fact = _other_question(b)
            if fact is None:
                return asked
            b.get(f"/cases/{case}?fact={fact}")
        asked.append(fact)
        if fact == "route":
            for country in ("Guatemala", "Mexico"):
                b.post(f"/cases/{case}/route", version=b.field("version"), action="add",
                       value=country)
            b.get(f"/cases/{case}")
            continue
        value = ("none" if fact.endswith("protection_claim") else "2019-11-10"
                 if fact.endswith(".entered") else "2019-11-30" if fact.endswith(".left")
                 else ANSWERS.get(fact, "no"))
        r = b.post(f"/cases/{case}/answer", fact=fact, version=b.field("version"),
                   value=value)
        assert r.status_code == 200, (fact, r.text[:500])
    raise AssertionError(f"no stop after {limit} questions: {asked}")


def test_a_screener_decides_a_case_then_an_edited_answer_changes_it(web) -> None:
    b = web()
    assert b.get("/cases").url.path == "/login"  # not logged in
    assert b.login("s@a.org").url.path == "/cases"
    r = b.post("/cases", label="Walk-in 7")
    case = r.url.path.rsplit("/", 1)[1]
    b.post(f"/cases/{case}/answer", fact="as_of", version=b.field("version"),
           value="2019-12-02")
    asked = _answer_until_stop(b, case)
    assert asked[0] == "arrival.date"
    assert "Decided: no unknown fact can change this outcome." in b.page.text
    pathway = re.search(r'class="pathway">([a-z_0-9]+)<', b.page.text).group(1)
    assert pathway == "aca_transfer"
    # change an answer: the person has a fear of Guatemala → not sent there
    b.get(f"/cases/{case}?fact=fear_of_receiving_country.GT")
    assert b.field("fact") == "fear_of_receiving_country.GT"
    b.post(f"/cases/{case}/answer", fact="fear_of_receiving_country.GT",
           version=b.field("version"), value="yes")
    assert re.search(r'class="pathway">([a-z_0-9]+)<', b.page.text).group(1) == \
        "credible_fear_barred"
    memo = b.get(f"/cases/{case}/memo")
    assert memo.status_code == 200 and "credible_fear_barred" in memo.text


@pytest.mark.parametrize("example", sorted((WEB.parents[2] / "examples").glob("*.json")),
                         ids=lambda p: p.stem)
def test_the_demo_cases_open_with_their_memo(web, example: Path) -> None:
    """`make run` seeds the examples as cases: each opens, decided as the CLI decides it."""
    import json

    from safethird import decide
    from safethird.store import cases

    facts = json.loads(example.read_text())
    with web.store.session() as s:
        user = accounts.user_by_email(s, "s@a.org")
        case = cases.create(s, web.store.cipher, user, facts, example.stem).id
    b = web()
    b.login("s@a.org")
    page = b.get(f"/cases/{case}")
    assert page.status_code == 200, page.text[-300:]
    assert decide(facts).pathway in page.text
    assert b.get(f"/cases/{case}/memo").status_code == 200


def test_dont_know_keeps_the_fact_unknown_and_moves_on(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    first = b.field("fact")
    b.post(f"/cases/{case}/answer", fact=first, version=b.field("version"), value="dont_know")
    assert b.field("fact") != first
    assert "Don't know" in b.page.text.split("Answers given", 1)[1]


def test_a_wrong_answer_is_shown_again_with_the_reason_announced(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    r = b.post(f"/cases/{case}/answer", fact="arrival.date", version=b.field("version"),
               value="yesterday")
    assert r.status_code == 422
    assert 'role="alert" id="q-error">a date as YYYY-MM-DD<' in r.text
    assert 'aria-describedby="q-error"' in r.text


def test_a_stale_form_does_not_overwrite_a_newer_answer(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    stale = b.field("version")
    b.post(f"/cases/{case}/answer", fact="fear_claimed", version=stale, value="yes")
    r = b.post(f"/cases/{case}/answer", fact="fear_claimed", version=stale, value="no")
    assert "Someone else changed this case" in r.text
    assert "fear_claimed</dt><dd>yes" in r.text.replace("\n", "")


def test_forms_without_the_csrf_token_are_refused(web) -> None:
    b = web()
    b.login("s@a.org")
    r = b.post("/cases", label="x", csrf="forged")
    assert r.status_code == 400 and "form expired" in r.text
    r = b.c.post("/login", data={"email": "s@a.org", "password": PASSWORD})
    assert r.status_code == 400


def test_lock_out_after_five_wrong_passwords(web) -> None:
    b = web()
    for _ in range(accounts.MAX_FAILED_LOGINS):
        assert b.login("s@a.org", "not the password").status_code == 401
    r = b.login("s@a.org")
    assert r.status_code == 401 and "locked until" in r.text


def test_another_organisation_and_a_viewer_are_refused(web) -> None:
    a = web()
    a.login("s@a.org")
    case = a.post("/cases", label="A's case").url.path.rsplit("/", 1)[1]
    other = web()
    other.login("s@b.org")
    assert other.get(f"/cases/{case}").status_code == 404
    assert "A&#39;s case" not in other.get("/cases").text
    viewer = web()
    viewer.login("v@a.org")
    page = viewer.get(f"/cases/{case}")
    assert page.status_code == 200 and 'name="fact"' not in page.text
    r = viewer.c.post(f"/cases/{case}/answer", data={"csrf": viewer.field("csrf"),
                                                     "fact": "fear_claimed", "version": "1",
                                                     "value": "yes"})
    assert r.status_code == 403


# every page about one case, with what a form of ours posts to it
CASE_PAGES = [("get", "", {}), ("get", "/memo", {}), ("post", "/keep", {}),
              ("post", "/answer", {"fact": "fear_claimed", "value": "yes"}),
              ("post", "/route", {"action": "add", "value": "Mexico"})]


@pytest.mark.parametrize(("method", "page", "data"), CASE_PAGES)
def test_every_case_page_refuses_strangers_and_viewers_the_same_way(web, method, page,
                                                                    data) -> None:
    a = web()
    a.login("s@a.org")
    case = a.post("/cases", label="A's case").url.path.rsplit("/", 1)[1]
    version = a.field("version")

    def call(b: Browser, csrf: str | None):
        url = f"/cases/{case}{page}"
        if method == "get":
            return b.c.get(url, follow_redirects=False)
        return b.c.post(url, data=data | {"csrf": csrf, "version": version},
                        follow_redirects=False)

    nobody = web()
    nobody.get("/login")
    r = call(nobody, nobody.field("csrf"))
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/cases/{case}{page}"
    other = web()
    other.login("s@b.org")
    r = call(other, other.field("csrf"))
    assert r.status_code == 404 and "no case" in r.text and "A&#39;s case" not in r.text
    viewer = web()
    viewer.login("v@a.org")
    r = call(viewer, viewer.field("csrf"))
    assert r.status_code == (200 if method == "get" else 403), r.text[:300]
    if method == "post":
        assert call(a, "forged").status_code == 400
        assert a.get(f"/cases/{case}").status_code == 200
        assert f'name="version" value="{version}"' in a.page.text  # nothing was changed


def test_a_refused_write_still_audits_the_read_before_it(web, tmp_path: Path) -> None:
    from safethird.store.models import AuditEntry

    store = Store(f"sqlite:///{tmp_path / 'web.db'}", keys=KEYS, run_migrations=False)

    def audited() -> list[str]:
        with store.session() as s:
            return [e.action for e in s.query(AuditEntry).order_by(AuditEntry.seq)]

    a = web()
    a.login("s@a.org")
    case = a.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    viewer = web()
    viewer.login("v@a.org")
    viewer.get(f"/cases/{case}")
    before = audited()
    assert viewer.post(f"/cases/{case}/keep").status_code == 403
    assert audited() == [*before, "case.read"]  # the keep read the case, then was refused
    store.dispose()


# fact paths no question of ours names: a leg the route does not have, a per-country fact
# without its country, a list item, a group of facts, nothing
ODD_FACTS = ["route[5].country", "route[0].entered", "route[].country", "nationalities[0]",
             "fear_of_receiving_country", "fear_of_receiving_country.*",
             "fear_of_receiving_country.", "arrival", "arrival.date.day", "", "x" * 500]
ODD_ROUTE_EDITS = [("add", "0", "\x00"), ("add", "0", "Atlantis"), ("remove", "7", ""),
                   ("up", "-1", ""), ("down", "x", ""), ("sideways", "0", "Mexico")]


def test_malformed_answers_and_route_edits_are_4xx_never_5xx(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    csrf, version = b.field("csrf"), b.field("version")
    for fact in ODD_FACTS:
        for value in ("yes", "\x00"):
            r = b.c.post(f"/cases/{case}/answer", data={
                "csrf": csrf, "fact": fact, "value": value, "version": version})
            assert r.status_code == 400 and "does not exist" in r.text, (fact, value, r)
        assert b.c.get(f"/cases/{case}", params={"fact": fact}).status_code == 200
    for action, index, value in ODD_ROUTE_EDITS:
        r = b.c.post(f"/cases/{case}/route", data={
            "csrf": csrf, "action": action, "index": index, "value": value,
            "version": version})
        assert 400 <= r.status_code < 500, (action, index, value, r.status_code)
    r = b.c.post(f"/cases/{case}/answer", data={"csrf": csrf, "fact": "arrival.date",
                                                "value": "2019-13-45", "version": version})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    b.get(f"/cases/{case}")
    assert b.field("version") == version  # none of them changed the case


def test_a_typed_answer_is_quoted_back_in_the_users_language_whatever_it_holds(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    for typed in ("50% Honduras", "%(name)s", "%d"):
        b.get(f"/cases/{case}?fact=nationalities")
        r = b.post(f"/cases/{case}/answer", fact="nationalities", version=b.field("version"),
                   value=typed)
        assert r.status_code == 422, (typed, r.text[-300:])
        assert "no country called" in r.text and typed in html.unescape(r.text)
    b.get("/language/es")
    b.get(f"/cases/{case}?fact=nationalities")
    r = b.post(f"/cases/{case}/answer", fact="nationalities", version=b.field("version"),
               value="50% Atlantis")
    assert r.status_code == 422 and "no hay ningún país llamado '50% Atlantis'" in \
        html.unescape(r.text)
    r = b.post(f"/cases/{case}/route", version=b.field("version"), action="up", index="x")
    assert r.status_code == 422 and "ese tramo no está en la ruta" in r.text


def test_the_history_page_says_who_changed_which_answer_from_what_to_what(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    for value in ("yes", "no"):
        b.post(f"/cases/{case}/answer", fact="fear_claimed", version=b.field("version"),
               value=value)
    b.post(f"/cases/{case}/route", version=b.field("version"), action="add", value="Mexico")
    assert f'href="/cases/{case}/history"' in b.page.text
    page = b.get(f"/cases/{case}/history")
    assert page.status_code == 200
    rows = [re.sub(r"<[^>]+>", "|", row) for row in re.findall(r"<tr><td>.*?</tr>", page.text)]
    cells = [[c for c in row.split("|") if c] for row in rows]
    assert [c[1:] for c in cells] == [
        ["s@a.org", "2", "fear_claimed", "unknown", "yes"],
        ["s@a.org", "3", "fear_claimed", "yes", "no"],
        ["s@a.org", "4", "route[0].country", "unknown", "Mexico"]], cells
    viewer = web()
    viewer.login("v@a.org")
    assert viewer.get(f"/cases/{case}/history").status_code == 200
    other = web()
    other.login("s@b.org")
    assert other.get(f"/cases/{case}/history").status_code == 404
    b.get("/language/es")
    assert "Historial de las respuestas" in b.get(f"/cases/{case}/history").text


def test_session_cookie_and_security_headers(web) -> None:
    b = web()
    r = b.login("s@a.org")
    cookie = r.history[0].headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    https = b.c.get("/login", headers={"x-forwarded-proto": "https"})
    assert "Secure" in https.headers["set-cookie"]


def test_the_pages_in_spanish(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    b.c.get("/language/es")
    page = b.get(f"/cases/{case}").text
    assert '<html lang="es">' in page and "Siguiente pregunta" in page
    assert "Por qué lo preguntamos" in page and "¿Es la persona un niño no acompañado" in page


def _msgids() -> set[str]:
    ids: set[str] = set()
    for p in (WEB / "templates").glob("*.html"):
        ids |= {m.replace('\\"', '"') for m in re.findall(r'_\("((?:[^"\\]|\\.)*)"\)',
                                                           p.read_text())}
        ids |= set(re.findall(r"_\('([^']*)'\)", p.read_text()))
    # what the server says on a page: wrong answers, refusals, notices
    code = (WEB / "interview.py").read_text() + (WEB / "pages.py").read_text()
    said = re.findall(r'AnswerError\(\s*"([^"]+)"', code) + re.findall(
        r'refused\(request, sess, \d+,\s*"([^"]+)"', code) + re.findall(
        r'(?:CHANGED_MEANWHILE = |conflict=\(\s*)((?:"[^"]*"\s*)+)', code)
    ids |= {re.sub(r'"\s*"', "", s).strip().strip('"') for s in said}
    return ids | set(interview.QUESTIONS.values()) | set(interview.CHOICES.values())


def test_every_message_has_a_spanish_translation() -> None:
    es = translations("es")
    missing = [m for m in _msgids() if es.gettext(m) == m and m not in ("No", "San Diego",
               "El Centro", "Yuma", "Tucson", "El Paso", "Big Bend", "Del Rio", "Laredo")]
    assert missing == []


def test_the_spanish_catalogue_follows_the_glossary() -> None:
    glossary = yaml.safe_load((WEB / "glossary.yaml").read_text())
    es = translations("es")
    for term in glossary["terms"]:
        for m in _msgids():
            if term["en"].lower() in m.lower():
                assert term["es"].lower() in es.gettext(m).lower(), (term, m)


def test_a_kept_determination_is_redecided_under_the_current_law(web, monkeypatch) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    for fact in ("unaccompanied_child", "fear_claimed"):
        b.post(f"/cases/{case}/answer", fact=fact, version=b.field("version"), value="no")
    page = b.post(f"/cases/{case}/keep").text
    assert "no_fear_claim</code></td>" in page
    assert "Nothing changed: same law version, same engine, same outcome." in page
    # the law changes (here: a variant stands in for a new law version and outcome)
    from safethird.api import engine

    real = engine.determine

    def changed_law(facts, **kw):
        d = real(facts, **kw)
        return d | {"law_version": "newer-law", "pathway": "credible_fear_asylum"}

    monkeypatch.setattr(engine, "determine", changed_law)
    page = b.get(f"/cases/{case}").text
    redecided = page.split('id="redecided"', 1)[1].split("</ul>", 1)[0]
    assert "newer-law" in redecided and "no_fear_claim</code> → <code>credible_fear_asylum" \
        in redecided


def test_the_language_switch_returns_only_to_a_page_of_this_server(web) -> None:
    b = web()
    for referer, target in (("http://testserver/cases/c1?fact=x", "/cases/c1?fact=x"),
                            ("http://testserver//evil.example/", "/cases"),
                            ("https://evil.example", "/cases")):
        r = b.c.get("/language/es", headers={"referer": referer}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, target)


def test_a_case_table_is_imported_from_the_cases_page_and_downloaded_again(web) -> None:
    b = web()
    b.login("s@a.org")
    b.get("/cases")
    assert 'enctype="multipart/form-data"' in b.page.text and "/cases/export.csv" in b.page.text
    table = (b"id,nationalities,arrival.date,route\n"
             b"k1,HN,2019-12-01,GT;MX\n"
             b"k2,Honduras,,\n")
    csrf = b.field("csrf")
    # without the CSRF token: refused, nothing imported
    assert b.c.post("/cases/import", files={"file": ("t.csv", table)}).status_code == 400
    page = b.c.post("/cases/import", data={"csrf": csrf}, files={"file": ("t.csv", table)})
    assert page.status_code == 422 and 'role="alert"' in page.text
    assert "t.csv: 1 of 2 rows" in page.text and "nationalities[0]" in page.text
    assert "did you mean HN (Honduras)?" in page.text
    assert "k1" not in b.get("/cases/export.csv").text  # nothing was imported
    page = b.c.post("/cases/import", data={"csrf": csrf, "partial": "yes"},
                    files={"file": ("t.csv", table)})
    assert page.status_code == 201 and "Cases opened: 1" in page.text
    csv_text = b.get("/cases/export.csv").text
    assert b.page.headers["content-disposition"] == 'attachment; filename="caseload.csv"'
    assert csv_text == "id,nationalities,arrival.date,route\nk1,HN,2019-12-01,GT;MX\n"
    v = web()
    v.login("v@a.org")
    assert "multipart/form-data" not in v.get("/cases").text
    assert v.c.post("/cases/import", data={"csrf": v.field("csrf")},
                    files={"file": ("t.csv", table)}).status_code == 403
    assert "k1" in v.get("/cases/export.csv").text  # a viewer reads, so may download
    assert web().c.get("/cases/export.csv", follow_redirects=False).status_code in (303, 401)


def test_the_memo_is_in_the_users_language(web) -> None:
    b = web()
    b.login("s@a.org")
    case = b.post("/cases", label="x").url.path.rsplit("/", 1)[1]
    b.post(f"/cases/{case}/answer", fact="fear_claimed", value="yes", version=b.field("version"))
    english = b.get(f"/cases/{case}/memo").text
    assert "Findings" in english and "Conclusiones" not in english
    b.c.get("/language/es")
    memo = b.get(f"/cases/{case}/memo").text
    assert '<html lang="es">' in memo and "Conclusiones" in memo and "Vía procesal" in memo
    assert "Findings" not in memo
    # a Spanish browser with no choice made gets the Spanish memo too
    c = web()
    c.login("s@a.org")
    assert "Conclusiones" in c.c.get(f"/cases/{case}/memo",
                                      headers={"accept-language": "es-MX,es;q=0.9"}).text
