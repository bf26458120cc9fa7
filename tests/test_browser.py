"""The workspace in real Chromium (Playwright driving Debian's /usr/bin/chromium) against a real
`safethird serve`: log in, open a case, answer until it is decided, change an answer and see
the determination change, print the memo; keyboard only; unauthenticated and
cross-organisation access refused; axe-core on every interview page with zero WCAG 2.1 AA
violations. Screenshots (and the memo as PDF) go to test-artifacts/browser/ (gitignored)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from safethird.store import Store, accounts
from workspace_fixtures import KEYS, ROOT, Server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "a long password"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ANSWERS = {"unaccompanied_child": "no", "fear_claimed": "yes",
           "arrival.border": "southern_land", "arrival.date": "2019-12-01",
           "nationalities": "Honduras", "admission_document": "none", "birth_date": "1990-04-12",
           "arrival.place": "between_ports", "arrival.state": "TX",
           "arrival.sector": "el_paso", "aca_invoked": "yes",
           "habitual_residence": "Honduras", "criminal_record": "no",
           "last_habitual_residence": "Honduras", "fear_of_receiving_country.GT": "no"}

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
                                reason=f"no {CHROMIUM} (.ci/run installs it)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{tmp / 'browser.db'}"
    store = Store(db_url, keys=KEYS)
    with store.session() as s:
        accounts.add_user(s, "screener@a.org", PASSWORD, org="A")
        accounts.add_user(s, "screener@b.org", PASSWORD, org="B")
    store.dispose()
    srv = Server("", "", db_url, log=tmp / "server.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_clean(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    violations = result.response["violations"]
    assert violations == [], (name, [(v["id"], v["help"], [n["target"] for n in v["nodes"]])
                                     for v in violations])


def login(page, server: Server, email: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/cases$"))


def open_case(page, label: str) -> str:
    """Open a new case from the cases page, as a screener does; its URL."""
    page.get_by_label(re.compile("Name of the new case")).fill(label)
    page.get_by_role("button", name="Open a new case").click()
    page.wait_for_url(re.compile(r"/cases/c[0-9a-f]+$"))
    return page.url


def version(page) -> str:
    return page.locator("input[name=version]").first.get_attribute("value")


def wait_saved(page, before: str) -> None:
    page.wait_for_function(
        "v => { const e = document.querySelector('input[name=version]');"
        " return e && e.value !== v; }", arg=before)


def answer(page, fact: str) -> None:
    """Answer the question on the page the way a screener would, with its control."""
    before = version(page)
    q = page.locator("section.question")
    if fact == "route":
        for country in ("Guatemala", "Mexico"):
            v = version(page)
            page.get_by_label("Add a country to the route").fill(country)
            page.get_by_role("button", name="Add", exact=True).click()
            wait_saved(page, v)
        return
    value = ("none" if fact.endswith("protection_claim") else "2019-11-10"
             if fact.endswith(".entered") else "2019-11-30" if fact.endswith(".left")
             else ANSWERS.get(fact, "no"))
    if q.locator("input[type=radio]").count():
        q.locator(f"input[type=radio][value='{value}']").check()
    elif q.locator("input[type=date]").count():
        q.locator("input[type=date]").fill(value)
    else:
        q.locator("input[name=value]").first.fill(value)
    q.get_by_role("button", name="Save the answer").click()
    wait_saved(page, before)


def test_a_new_user_decides_a_case_edits_an_answer_and_prints_the_memo(page, server) -> None:
    login(page, server, "screener@a.org")
    shot(page, "01-cases")
    case_url = open_case(page, "Walk-in 7")
    page.get_by_role("link", name="Decide as of another date").click()
    page.wait_for_url(re.compile(r"fact=as_of"))
    answer_date = page.locator("section.question input[type=date]")
    answer_date.fill("2019-12-02")
    before = version(page)
    page.get_by_role("button", name="Save the answer").click()
    wait_saved(page, before)

    asked = []
    for step in range(30):
        axe_clean(page, f"interview step {step}")
        shot(page, f"02-interview-{step:02d}")
        fact_input = page.locator("section.question input[name=fact]")
        if fact_input.count():
            fact = fact_input.get_attribute("value")
        elif page.locator("section.question").count():
            fact = "route"
        elif "The engine names no further question" in page.content():
            # the engine names no question yet the outcome is open: give a fact it did not name
            options = page.locator("#other-fact option")
            offered = [options.nth(i).get_attribute("value") for i in range(options.count())]
            fact = next(f for f in offered if f in ANSWERS)
            page.get_by_label("Answer another question").select_option(fact)
            page.get_by_role("button", name="Ask").click()
            page.wait_for_url(re.compile(r"fact="))
        else:
            break
        asked.append(fact)
        answer(page, fact)
    else:
        raise AssertionError(f"never decided: {asked}")
    assert asked[0] == "arrival.date"
    page.get_by_text("Decided: no unknown fact can change this outcome.").wait_for()
    assert page.locator(".pathway").inner_text() == "aca_transfer"
    page.get_by_role("button", name="Keep this determination").click()
    page.locator("#redecided").wait_for()
    axe_clean(page, "kept determination")
    shot(page, "03-decided")

    # change an answer: a fear of Guatemala established → not sent there
    page.get_by_role("link", name="Change: fear_of_receiving_country.GT").click()
    page.wait_for_url(re.compile(r"fact=fear_of_receiving_country"))
    axe_clean(page, "change an answer")
    before = version(page)
    page.locator("section.question input[value=yes]").check()
    page.get_by_role("button", name="Save the answer").click()
    wait_saved(page, before)
    assert page.locator(".pathway").inner_text() == "credible_fear_barred"
    shot(page, "04-changed")

    page.get_by_role("link", name="History of the answers").click()
    page.wait_for_url(re.compile(r"/history$"))
    change = page.locator("tr", has_text="fear_of_receiving_country.GT").last
    assert change.locator("td").nth(4).inner_text() == "no"
    assert change.locator("td").nth(5).inner_text() == "yes"
    axe_clean(page, "history")
    shot(page, "04b-history")
    page.get_by_role("link", name="Back to the case").click()
    page.wait_for_url(case_url)

    page.get_by_role("link", name="Print the memo").click()
    page.wait_for_url(re.compile(r"/memo$"))
    page.evaluate("window.__printed = false; window.print = () => { window.__printed = true; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") is True
    assert "credible_fear_barred" in page.content()
    axe_clean(page, "memo")
    shot(page, "05-memo")
    page.emulate_media(media="print")
    page.pdf(path=str(ARTIFACTS / "memo.pdf"))
    assert case_url.rsplit("/", 1)[1] in page.url


def test_keyboard_only(page, server) -> None:
    login(page, server, "screener@a.org")
    page.locator("body").focus()
    for _ in range(30):  # Tab to the new case's name field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "label":
            break
    page.keyboard.type("Keyboard case")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cases/c[0-9a-f]+$"))
    page.wait_for_selector("section.question")
    before = version(page)
    for _ in range(40):  # Tab to the first answer, choose it with the arrow keys and Space
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "value":
            break
    if page.evaluate("document.activeElement.type") == "date":  # typed as the locale shows it
        page.keyboard.type("12012019")
    else:
        page.keyboard.press("Space")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Save the answer":
            break
    page.keyboard.press("Enter")
    wait_saved(page, before)
    assert "Answers given" in page.content() and "None yet." not in page.content()
    shot(page, "06-keyboard")


def test_unauthenticated_and_cross_organisation_access_is_refused(page, server) -> None:
    login(page, server, "screener@a.org")
    case_url = open_case(page, "Org A only")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(case_url)
    assert "/login" in page.url and "Org A only" not in page.content()
    login(page, server, "screener@b.org")
    response = page.goto(case_url)
    assert response.status == 404 and "Org A only" not in page.content()
    assert "Org A only" not in page.goto(server.url + "/cases").text()
    axe_clean(page, "login and case list")
    shot(page, "07-other-organisation")


def test_a_screener_imports_a_case_table_and_reads_the_rows_in_error(page, server,
                                                                      tmp_path) -> None:
    table = tmp_path / "intake.csv"
    table.write_text("id,nationalities,arrival.date\nb1,HN,2019-12-01\nb2,Honduras,\n")
    login(page, server, "screener@a.org")
    page.get_by_label(re.compile("Import a case table")).set_input_files(str(table))
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("#errors")
    assert "did you mean HN (Honduras)?" in page.content()
    assert "nothing was imported" in page.get_by_role("alert").inner_text()
    axe_clean(page, "import refused")
    shot(page, "08-import-rows-in-error")
    page.go_back()
    page.get_by_label(re.compile("Import a case table")).set_input_files(str(table))
    page.get_by_label(re.compile("Import the valid rows")).check()
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("text=Cases opened: 1")
    axe_clean(page, "import done")


def test_the_interview_in_spanish_with_a_wrong_answer_announced(page, server) -> None:
    """The same pages in Spanish pass axe too: the login (before and after a refused
    password), the first questions, a wrong answer (announced as an alert, tied to its
    field) and the memo, all with lang="es"."""
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Español").click()
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    axe_clean(page, "login in Spanish")
    page.get_by_label("Correo electrónico").fill("screener@a.org")
    page.get_by_label("Contraseña").fill("not the password")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_role("alert").wait_for()
    email = page.get_by_label("Correo electrónico")
    assert email.get_attribute("aria-describedby") == "login-error"
    assert email.input_value() == "screener@a.org"  # kept: only the password is typed again
    axe_clean(page, "login refused in Spanish")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(re.compile(r"/cases$"))
    assert page.evaluate("document.documentElement.lang") == "es"
    page.get_by_label(re.compile("Nombre del nuevo caso")).fill("Caso en español")
    page.get_by_role("button", name="Abrir un caso nuevo").click()
    page.wait_for_url(re.compile(r"/cases/c[0-9a-f]+$"))
    page.get_by_role("heading", name="Siguiente pregunta").wait_for()
    axe_clean(page, "first question in Spanish")
    shot(page, "09-spanish-question")

    q = page.locator("section.question")
    before = version(page)
    page.goto(page.url + "?fact=nationalities")
    q.locator("input[name=value]").first.fill("Atlantis")
    q.get_by_role("button", name="Guardar la respuesta").click()
    page.get_by_role("alert").wait_for()
    assert version(page) == before  # nothing saved
    assert q.locator("fieldset").get_attribute("aria-describedby") == "q-error"
    axe_clean(page, "wrong answer in Spanish")
    shot(page, "10-spanish-wrong-answer")
    q.locator("input[name=value]").first.fill("Honduras")
    q.get_by_role("button", name="Guardar la respuesta").click()
    wait_saved(page, before)
    axe_clean(page, "second question in Spanish")

    page.get_by_role("link", name="Imprimir el memorando").click()
    page.wait_for_url(re.compile(r"/memo$"))
    assert page.evaluate("document.documentElement.lang") == "es"
    axe_clean(page, "memo in Spanish")
    shot(page, "11-spanish-memo")
