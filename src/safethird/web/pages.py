"""The workspace's pages: server-rendered (Jinja2), working without JavaScript (every action is
a form post followed by a redirect); htmx, when it runs, only boosts links and forms.

Every form carries the session's CSRF token; every page about a case is scoped to the user's
organisation (another organisation's case is "not found")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from safethird.api import engine
from safethird.store import Store, accounts, caseload, cases
from safethird.store.errors import Conflict, Forbidden, NotFound, StoreError
from safethird.store.models import User
from safethird.web import interview
from safethird.web.i18n import LANGUAGES, pick, translations
from safethird.web.session import Session, Sessions

TEMPLATES = Path(__file__).parent / "templates"
STATUS_WORDS = {"applies": "Applies", "does_not_apply": "Does not apply",
                "unknown": "Not yet known"}
# the store's refusals that signed_in() turns into pages; a handler's own "except StoreError"
# (a wrong answer, shown on the form) lets them pass
TOLD_BY_SIGNED_IN = (NotFound, Forbidden, Conflict)
CHANGED_MEANWHILE = "Someone else changed this case meanwhile; here it is as it is now."
FINDING_TITLES = {"aca": "Asylum Cooperative Agreement", "transit_bar": "Third-country "
                  "transit bar", "clp": "Circumvention of Lawful Pathways rule"}


def _environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


ENVIRONMENTS = {lang: _environment(lang) for lang in LANGUAGES}


class Refused(Exception):
    """The page a request gets instead of the one it asked for (log in first, the form
    expired, no such case, not allowed): raised by the helpers of a handler, sent as it is by
    the application (``web.app``)."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    """The first value a form posted under ``name`` (a field left out: the default)."""
    return (form.get(name) or [default])[0]


def _fact_value_text(value: Any, kind: str, gettext: Any) -> str:
    if value is None:
        return gettext("unknown")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if kind == "country":
        return interview.country_names().get(value, value)
    if kind == "countries":
        return ", ".join(interview.country_names().get(v, v) for v in value) or \
            gettext("stateless")
    if kind == "enum":
        return gettext(interview.CHOICES.get(value, value))
    return str(value)


def router(store: Store, sessions: Sessions) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def render(request: Request, sess: Session, template: str, status: int = 200,
               **ctx: Any) -> HTMLResponse:
        lang = sess.lang or pick(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
        env = ENVIRONMENTS[lang]
        gettext = translations(lang).gettext
        flash, sess.flash = sess.flash, None
        # what the server says (a refusal, a wrong answer, a notice) is translated here, not
        # by the templates' _(): there a "%" in it (a typed answer quoted back) would be read
        # as a format
        for key in ("error", "message", "refused"):
            said = ctx.get(key)
            if isinstance(said, interview.AnswerError):
                ctx[key] = said.said(gettext)
            elif isinstance(said, str):
                ctx[key] = gettext(said)
        flash = gettext(flash) if flash else None
        html = env.get_template(template).render(
            request=request, csrf=sess.csrf, lang=lang, languages=LANGUAGES, flash=flash,
            countries=interview.country_names(), choices=interview.CHOICES,
            question_texts=interview.QUESTIONS,
            status_words=STATUS_WORDS, finding_titles=FINDING_TITLES,
            value_text=lambda v, k: _fact_value_text(v, k, gettext), quote=quote, **ctx)
        response = HTMLResponse(html, status_code=status)
        sessions.save(request, response, sess)
        return response

    def redirect(request: Request, sess: Session, url: str) -> Response:
        response = RedirectResponse(url, status_code=303)
        sessions.save(request, response, sess)
        return response

    def login_user(s: Any, sess: Session) -> User | None:
        if sess.uid is None:
            return None
        user = s.get(User, sess.uid)
        return None if user is None or user.disabled else user

    def refused(request: Request, sess: Session, status: int, message: str) -> HTMLResponse:
        return render(request, sess, "error.html", status=status, message=message)

    async def posted(request: Request, sess: Session) -> dict[str, list[str]]:
        """The text fields of a posted form (uploads stay in ``request.form()``), refused
        unless it carries this session's CSRF token."""
        form = await request.form()
        data: dict[str, list[str]] = {}
        for k, v in form.multi_items():
            if isinstance(v, str):
                data.setdefault(k, []).append(v)
        if not sess.csrf_ok(first(data, "csrf") or None):
            raise Refused(refused(request, sess, 400,
                                  "The form expired: reload the page and try again."))
        return data

    def need_login(request: Request, sess: Session) -> Response:
        return redirect(request, sess, "/login?next=" + quote(request.url.path))

    @contextmanager
    def signed_in(request: Request, sess: Session, *,
                  conflict: tuple[str, str] | None = None) -> Iterator[tuple[Any, User]]:
        """One unit of work for the logged-in user: (database session, user). A case of
        another organisation is "not found", a role's missing right is refused; with
        ``conflict`` (message, page), a concurrent edit is told with that message on that
        page. What was done before a refusal (the audit of a read) is committed all the same,
        and the refusal sent afterwards."""
        with store.session() as s:
            user = login_user(s, sess)
            if user is None:
                raise Refused(need_login(request, sess))
            try:
                yield s, user
                return
            except NotFound as exc:
                stop = Refused(refused(request, sess, 404, exc.message))
            except Forbidden as exc:
                stop = Refused(refused(request, sess, 403, exc.message))
            except Conflict:
                if conflict is None:
                    raise
                sess.flash, page = conflict
                stop = Refused(redirect(request, sess, page))
            except Refused as exc:
                stop = exc
        raise stop

    # --- login ------------------------------------------------------------------------------

    @r.get("/")
    def home(request: Request) -> Response:
        return RedirectResponse("/cases", status_code=303)

    @r.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        sess = sessions.load(request)
        return render(request, sess, "login.html", next=request.query_params.get("next", ""))

    @r.post("/login")
    async def login(request: Request) -> Response:
        sess = sessions.load(request)
        form = await posted(request, sess)
        with store.session() as s:
            attempt = accounts.login(s, first(form, "email"), first(form, "password"))
        if attempt.user is None:
            return render(request, sess, "login.html", status=401, error=attempt.refusal,
                          next=first(form, "next"), email=first(form, "email"))
        new = Session(uid=attempt.user.id, lang=sess.lang)  # a new CSRF token on login
        target = first(form, "next", "/cases")
        return redirect(request, new, target if target.startswith("/") and
                        not target.startswith("//") else "/cases")

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        # logging out needs no CSRF token: the worst a forged post can do is log one out
        sess = sessions.load(request)
        return redirect(request, Session(lang=sess.lang), "/login")

    @r.get("/language/{lang}")
    def language(request: Request, lang: str) -> Response:
        sess = sessions.load(request)
        if lang in LANGUAGES:
            sess.lang = lang
        # back to the page the switch was on, if it is a page of this server (never an open
        # redirect to another host, nor a "//host" path)
        back = urlsplit(request.headers.get("referer") or "")
        path = back.path + (f"?{back.query}" if back.query else "")
        local = back.netloc == request.url.netloc and path.startswith("/") \
            and not path.startswith(("//", "/\\"))
        return redirect(request, sess, path if local else "/cases")

    # --- cases ------------------------------------------------------------------------------

    @r.get("/cases")
    def case_list(request: Request) -> Response:
        sess = sessions.load(request)
        with signed_in(request, sess) as (s, user):
            views, total = cases.listing(s, store.cipher, user, limit=200)
        return render(request, sess, "cases.html", user=user, cases=views, total=total)

    @r.post("/cases")
    async def case_new(request: Request) -> Response:
        sess = sessions.load(request)
        form = await posted(request, sess)
        with signed_in(request, sess) as (s, user):
            view = cases.create(s, store.cipher, user, {}, first(form, "label"))
        return redirect(request, sess, f"/cases/{view.id}")

    @r.post("/cases/import")
    async def case_import(request: Request) -> Response:
        """A case table uploaded from the cases page: every row a case, or (nothing imported
        unless "partial") each row in error shown with its row, line, field and message."""
        sess = sessions.load(request)
        form = await posted(request, sess)
        upload = (await request.form()).get("file")  # the form is parsed once, then cached
        with signed_in(request, sess) as (s, user):
            try:
                accounts.require(user, "write")
                if isinstance(upload, str) or upload is None or not upload.filename:
                    raise StoreError("Choose a .csv or .parquet file to import.", field="file")
                table = caseload.read_table(await upload.read(caseload.MAX_IMPORT_BYTES + 1),
                                            upload.filename)
                result = caseload.import_table(s, store.cipher, user, table,
                                               partial=first(form, "partial") == "yes")
            except TOLD_BY_SIGNED_IN:
                raise
            except caseload.ImportRefused as exc:
                return render(request, sess, "imported.html", status=422, user=user,
                              refused=exc.message, errors=exc.errors, result=None)
            except StoreError as exc:
                return render(request, sess, "imported.html", status=422, user=user,
                              refused=exc.message, errors=[], result=None)
        return render(request, sess, "imported.html", status=201, user=user, refused=None,
                      errors=result["errors"], result=result)

    @r.get("/cases/export.csv")
    def case_export(request: Request) -> Response:
        sess = sessions.load(request)
        with signed_in(request, sess) as (s, user):
            body = caseload.export_csv(s, store.cipher, user)
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="caseload.csv"'})

    def case_page(request: Request, sess: Session, user: User, view: cases.CaseView, *,
                  fact: str | None = None,
                  error: str | interview.AnswerError | None = None,
                  status: int = 200) -> HTMLResponse:
        d = engine.decision(view.facts)
        result = d.to_dict()
        with store.session() as s:
            kept, _ = cases.determinations(s, store.cipher, user, view.id, limit=20)
        redecided = redecide(kept[0]) if kept else None
        dont_know = set(view.dont_know)
        if fact:
            q = interview.question(fact, result, view.facts)
        else:
            q = interview.next_question(result, view.facts, dont_know)
        # the case's own id (an imported row's, an example's) is kept but is no fact to show
        given = [(p, v, interview.kind(p)) for p, v in cases.flatten(view.facts).items()
                 if p not in ("id", "route") and not p.startswith("route[")]
        open_unknown = [p for p in result["missing_facts"] if p in dont_know]
        # any other fact the screener knows may be given too (and must be, when the engine
        # names no question but the outcome is still undetermined)
        other = [k for k in interview.QUESTIONS if "[" not in k and "*" not in k
                 and k != "as_of" and interview.get_fact(view.facts, k) is None]
        undecided = result["pathway"] == "undetermined" or any(
            f["status"] == "unknown" for f in result["findings"].values())
        return render(request, sess, "case.html", status=status, user=user, case=view,
                      d=result, question=q, error=error, given=given, kept=kept,
                      redecided=redecided,
                      open_unknown=open_unknown, route=view.facts.get("route"),
                      other_facts=other, undecided=undecided,
                      can_write=user.role != "viewer")

    def redecide(kept: dict[str, Any]) -> dict[str, Any]:
        """The kept determination's facts and date decided again under the current law and
        engine: what changed."""
        then = kept["determination"]
        now = engine.determine(kept["facts"], as_of=dt.date.fromisoformat(kept["as_of"]),
                               variant=kept["variant"])
        findings = [(name, then["findings"].get(name, {}).get("status"),
                     then["findings"].get(name, {}).get("reason"), f["status"], f["reason"])
                    for name, f in now["findings"].items()]
        return {"law": (then["law_version"], now["law_version"]),
                "engine": (then["engine_version"], now["engine_version"]),
                "pathway": (then["pathway"], now["pathway"]),
                "findings": [f for f in findings if f[1:3] != f[3:5]]}

    @r.post("/cases/{case_id}/keep")
    async def keep(request: Request, case_id: str) -> Response:
        sess = sessions.load(request)
        await posted(request, sess)
        with signed_in(request, sess, conflict=(CHANGED_MEANWHILE, f"/cases/{case_id}#kept")
                       ) as (s, user):
            view = cases.read(s, store.cipher, user, case_id)
            cases.record_determination(s, store.cipher, user, case_id,
                                       engine.determine(view.facts), version=view.version)
        return redirect(request, sess, f"/cases/{case_id}#kept")

    @r.get("/cases/{case_id}")
    def case_view(request: Request, case_id: str) -> Response:
        sess = sessions.load(request)
        with signed_in(request, sess) as (s, user):
            view = cases.read(s, store.cipher, user, case_id)
        fact = request.query_params.get("fact")
        try:
            if fact:
                interview.check_path(fact, view.facts)
        except KeyError:
            fact = None
        return case_page(request, sess, user, view, fact=fact)

    @r.post("/cases/{case_id}/answer")
    async def answer(request: Request, case_id: str) -> Response:
        sess = sessions.load(request)
        form = await posted(request, sess)
        fact = first(form, "fact")
        with signed_in(request, sess, conflict=(
                "Someone else changed this case while you were answering; here it is as it "
                "is now. Give your answer again if it is still needed.",
                f"/cases/{case_id}")) as (s, user):
            try:
                view = cases.read(s, store.cipher, user, case_id)
                version = int(first(form, "version", "0") or 0)
                interview.check_path(fact, view.facts)
                value = interview.parse_answer(fact, form)
                dont_know = set(view.dont_know)
                if value is interview.DONT_KNOW:
                    facts = interview.set_fact(view.facts, fact, None)
                    dont_know.add(fact)
                else:
                    facts = interview.set_fact(view.facts, fact, value)
                    dont_know.discard(fact)
                cases.update(s, store.cipher, user, case_id, version=version, facts=facts,
                             dont_know=sorted(dont_know))
            except TOLD_BY_SIGNED_IN:
                raise
            except (interview.AnswerError, StoreError) as exc:
                wrong = exc.message if isinstance(exc, StoreError) else exc
            except (KeyError, ValueError):  # a fact or version that no form of ours sends
                raise Refused(refused(request, sess, 400,
                                      "That question does not exist.")) from None
            else:
                wrong = None
        if wrong is not None:  # shown again with the reason, outside the write transaction
            return case_page(request, sess, user, view, fact=fact, error=wrong, status=422)
        return redirect(request, sess, f"/cases/{case_id}")

    @r.post("/cases/{case_id}/route")
    async def route(request: Request, case_id: str) -> Response:
        sess = sessions.load(request)
        form = await posted(request, sess)
        with signed_in(request, sess, conflict=(CHANGED_MEANWHILE, f"/cases/{case_id}")
                       ) as (s, user):
            try:
                view = cases.read(s, store.cipher, user, case_id)
                facts = interview.route_edit(
                    view.facts, first(form, "action"), int(first(form, "index", "0") or 0),
                    first(form, "value"))
                cases.update(s, store.cipher, user, case_id,
                             version=int(first(form, "version", "0") or 0), facts=facts)
            except TOLD_BY_SIGNED_IN:
                raise
            except (interview.AnswerError, StoreError) as exc:
                wrong = exc.message if isinstance(exc, StoreError) else exc
            except ValueError:  # an index that no form of ours sends
                wrong = interview.AnswerError("no such leg of the route")
            else:
                wrong = None
        if wrong is not None:
            return case_page(request, sess, user, view, fact="route", error=wrong, status=422)
        return redirect(request, sess, f"/cases/{case_id}#route")

    @r.get("/cases/{case_id}/history")
    def history(request: Request, case_id: str) -> Response:
        sess = sessions.load(request)
        with signed_in(request, sess) as (s, user):
            view = cases.read(s, store.cipher, user, case_id)
            changes = cases.history(s, store.cipher, user, case_id)
        for c in changes:
            try:
                c["kind"] = interview.kind(c["fact"])
            except KeyError:  # a path no question asks (the case's own id)
                c["kind"] = "text"
        return render(request, sess, "history.html", user=user, case=view, changes=changes)

    @r.get("/cases/{case_id}/memo")
    def memo(request: Request, case_id: str) -> Response:
        sess = sessions.load(request)
        with signed_in(request, sess) as (s, user):
            view = cases.read(s, store.cipher, user, case_id)
        d = engine.decision(view.facts)
        # the memo in the language of the pages (the user's choice, else the browser's)
        lang = sess.lang or pick(request.query_params.get("lang"),
                                 request.headers.get("accept-language"))
        return render(request, sess, "memo.html", case=view, d=d.to_dict(),
                      memo=engine.memo_html(d, lang), today=dt.date.today().isoformat())

    @r.get("/law/{item_id}")
    def law_item(request: Request, item_id: str) -> Response:
        sess = sessions.load(request)
        try:
            text = engine.law_item(item_id)
        except KeyError:
            return refused(request, sess, 404, f"No law item {item_id!r}.")
        return render(request, sess, "law.html", item_id=item_id, text=text)

    @r.get("/law")
    def law_index(request: Request) -> Response:
        sess = sessions.load(request)
        return render(request, sess, "law_index.html", law=engine.law_summary(),
                      citation=request.query_params.get("citation", ""))

    return r
