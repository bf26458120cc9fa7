"""The workspace's commands, registered on the one ``safethird`` command line:
``serve``, ``users add|list|disable|token``, ``audit verify``, ``store new-key|reencrypt|migrate``.

Store errors (a missing key, a duplicate user, an unknown e-mail) end in one line on stderr and
exit status 2, like every other bad input."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from safethird.store import Store

users_app = typer.Typer(no_args_is_help=True, help="Workspace accounts (argon2id passwords, "
                        "roles viewer / screener / admin, organisations).")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log of case reads "
                        "and writes.")
store_app = typer.Typer(no_args_is_help=True, help="The case store: schema, encryption keys.")


def _fail(message: str) -> NoReturn:
    typer.echo(f"safethird: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def _store() -> Iterator[Store]:
    from sqlalchemy.exc import SQLAlchemyError

    from safethird.store import Store, StoreError

    try:
        store = Store()
    except StoreError as exc:
        _fail(exc.message)
    except SQLAlchemyError as exc:
        _fail(f"the database cannot be opened: {exc.__class__.__name__}: "
              f"{str(exc).splitlines()[0]}")
    try:
        yield store
    except StoreError as exc:
        _fail(exc.message)
    finally:
        store.dispose()


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    org: Annotated[str, typer.Option("--org", help="Organisation (created if new).")],
    role: Annotated[str, typer.Option("--role", help="viewer, screener or admin")] = "screener",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Add a user; the password is asked twice (or read from stdin)."""
    from safethird.store import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _store() as store, store.session() as s:
        user = accounts.add_user(s, email, password, org=org, role=role)
        typer.echo(f"added {user.email} ({user.role}, organisation {org})")


@users_app.command("list")
def users_list() -> None:
    """Every user: e-mail, organisation, role, state."""
    from safethird.store import accounts

    with _store() as store, store.session() as s:
        for u in accounts.users(s):
            state = "disabled" if u.disabled else "active"
            typer.echo(f"{u.email}\t{u.org.name}\t{u.role}\t{state}")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="The user's e-mail address.")]
                  ) -> None:
    """Disable a user: no more logins, their API tokens revoked (their records stay)."""
    from safethird.store import accounts

    with _store() as store, store.session() as s:
        accounts.disable_user(s, email)
        typer.echo(f"disabled {email}")


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "api",
) -> None:
    """Create an API bearer token for a user; it is printed once and only its hash is kept."""
    from safethird.store import accounts

    with _store() as store, store.session() as s:
        user = accounts.user_by_email(s, email)
        if user.disabled:
            _fail(f"{email} is disabled")
        typer.echo(accounts.new_token(s, user, name))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain link by link; report the first broken link (exit status 1)."""
    from safethird.store import audit

    with _store() as store, store.session() as s:
        result = audit.verify(s)
    typer.echo(str(result))
    if not result.ok:
        raise typer.Exit(1)


@store_app.command("new-key")
def store_new_key() -> None:
    """Print a new Fernet key (put it first in SAFETHIRD_FACT_KEYS, then `store reencrypt`)."""
    from safethird.store.crypto import new_key

    typer.echo(new_key())


@store_app.command("reencrypt")
def store_reencrypt() -> None:
    """Rewrite every encrypted value under the first key of SAFETHIRD_FACT_KEYS."""
    from safethird.store.cases import reencrypt

    with _store() as store, store.session() as s:
        n = reencrypt(s, store.cipher)
    typer.echo(f"re-encrypted {n} values under the first key; the other keys may now be "
               "removed from SAFETHIRD_FACT_KEYS")


@store_app.command("migrate")
def store_migrate() -> None:
    """Bring the database schema up to date (also done on every start)."""
    with _store():
        typer.echo("schema up to date")


@contextmanager
def _quiet_store_errors() -> Iterator[None]:
    from safethird.store import StoreError

    try:
        yield
    except StoreError as exc:
        _fail(exc.message)


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
) -> None:
    """Serve the workspace and the REST API (/v1, docs at /docs) on SAFETHIRD_DATABASE_URL
    (default: the SQLite file safethird.db in the working folder)."""
    import uvicorn

    from safethird.store.db import database_url

    with _store() as store:
        with _quiet_store_errors():
            store.cipher  # noqa: B018  (no key: refuse to start, rather than fail on a case)
        from safethird.web.app import create_workspace

        app = create_workspace(store)
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        typer.echo(f"safethird workspace on {database_url().split('?')[0]}: "
                   f"http://{shown}:{port}/  (API: /v1, docs: /docs)")
        # access lines carry method, path and status only: no body, so no facts
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


DEMO_ORG, DEMO_USER, DEMO_PASSWORD = "Demo Legal Aid", "demo@example.org", "demo-password"


@store_app.command("seed-demo")
def store_seed_demo(
    examples: Annotated[str, typer.Option("--examples", help="Folder of example cases.")]
    = "examples",
) -> None:
    """Add the demo organisation, its login and the example cases (once; later runs keep
    what is there)."""
    import json
    from pathlib import Path

    from safethird.store import accounts, cases
    from safethird.store.errors import StoreError

    with _store() as store, store.session() as s:
        try:
            user = accounts.user_by_email(s, DEMO_USER)
            typer.echo(f"demo login: {DEMO_USER} / {DEMO_PASSWORD} (already there)")
            return
        except StoreError:
            user = accounts.add_user(s, DEMO_USER, DEMO_PASSWORD, org=DEMO_ORG, role="screener")
        for path in sorted(Path(examples).glob("*.json")):
            facts = json.loads(path.read_text(encoding="utf-8"))
            cases.create(s, store.cipher, user, facts, path.stem.replace("-", " "))
        cases.create(s, store.cipher, user, {}, "new walk-in (nothing known yet)")
        typer.echo(f"demo login: {DEMO_USER} / {DEMO_PASSWORD} (organisation {DEMO_ORG})")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(store_app, name="store")
