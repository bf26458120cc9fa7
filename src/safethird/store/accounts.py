"""Organisations, users, roles and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safethird.store import audit
from safethird.store.db import comparable
from safethird.store.errors import Conflict, Forbidden, StoreError, Unauthorized
from safethird.store.models import ROLES, ApiToken, Organisation, User, utcnow
from safethird.store.passwords import hash_password, verify_password

# lock-out: after this many failed logins in a row, the account is locked for LOCK_MINUTES
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+$")
MAX_EMAIL, MAX_ORG = 320, 200  # the columns' widths (PostgreSQL refuses longer, SQLite not)

# what each role may do (an admin may do everything a screener may, and manage users)
CAN = {"viewer": {"read"}, "screener": {"read", "write"}, "admin": {"read", "write", "admin"}}


def require(user: User, permission: str) -> None:
    if permission not in CAN[user.role]:
        raise Forbidden(f"the role {user.role!r} may not {permission} (needs "
                        f"{' or '.join(r for r in ROLES if permission in CAN[r])})")


def organisation(s: Session, name: str, *, create: bool = False) -> Organisation:
    org = s.scalar(select(Organisation).where(Organisation.name == name)) \
        if comparable(name) else None
    if org is None:
        if not create:
            raise StoreError(f"no organisation {name!r}", field="org")
        if not name.strip() or not comparable(name) or len(name) > MAX_ORG:
            raise StoreError(f"an organisation's name: 1 to {MAX_ORG} characters, no NUL; "
                             f"got {name[:40]!r}", field="org")
        org = Organisation(name=name)
        s.add(org)
        s.flush()
    return org


def add_user(s: Session, email: str, password: str, *, org: str, role: str = "screener",
             create_org: bool = True) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > MAX_EMAIL:
        raise StoreError(f"not an e-mail address: {email!r}", field="email")
    if role not in ROLES:
        raise StoreError(f"role must be one of {', '.join(ROLES)}; got {role!r}", field="role")
    if len(password) < MIN_PASSWORD:
        raise StoreError(f"the password must have at least {MIN_PASSWORD} characters",
                         field="password")
    if _user(s, email) is not None:
        raise Conflict(f"a user {email} already exists", field="email")
    o = organisation(s, org, create=create_org)
    user = User(email=email, password_hash=hash_password(password), role=role, org_id=o.id)
    s.add(user)
    s.flush()
    audit.append(s, None, "user.add", user_id=user.id, role=role, org=o.id)
    return user


def users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.org_id, User.email)))


def _user(s: Session, email: str) -> User | None:
    key = email.strip().lower()
    return s.scalar(select(User).where(User.email == key)) if comparable(key) else None


def user_by_email(s: Session, email: str) -> User:
    user = _user(s, email)
    if user is None:
        raise StoreError(f"no user {email!r}", field="email")
    return user


def disable_user(s: Session, email: str) -> User:
    user = user_by_email(s, email)
    user.disabled = True
    for t in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                              ApiToken.revoked_at.is_(None))):
        t.revoked_at = utcnow()
    audit.append(s, None, "user.disable", user_id=user.id)
    return user


@dataclass
class Login:
    """The outcome of a login attempt: the user, or the refusal to show."""

    user: User | None
    refusal: str | None = None


def login(s: Session, email: str, password: str, *, now: dt.datetime | None = None) -> Login:
    """Check a password; count failures and lock the account after MAX_FAILED_LOGINS.
    Returns instead of raising, so the caller's transaction commits the failure count.
    The refusal is the same for an unknown e-mail, a wrong password and a disabled account."""
    now = now or utcnow()
    refused = Login(None, "wrong e-mail or password, or the account is disabled")
    user = _user(s, email)
    if user is None or user.disabled:
        return refused
    if user.locked_until and user.locked_until > now:
        return Login(None, f"too many failed logins: the account is locked until "
                           f"{user.locked_until:%H:%M} UTC")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            audit.append(s, user, "user.locked")
        return refused
    user.failed_logins, user.locked_until = 0, None
    return Login(user)


def _token_hash(token: str) -> str:
    # a token is 256 random bits: a plain SHA-256 suffices (no password stretching needed)
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(s: Session, user: User, name: str = "api") -> str:
    """A new bearer token for ``user``; returned once, only its hash is stored."""
    token = "st_" + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token)))
    s.flush()
    audit.append(s, user, "token.create", name=name)
    return token


def user_for_token(s: Session, token: str) -> User:
    t = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if t is None or t.revoked_at is not None or t.user.disabled:
        raise Unauthorized("invalid, revoked or disabled API token")
    return t.user
