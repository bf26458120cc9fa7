"""The login session: an encrypted, signed cookie (Fernet) holding the user id, a CSRF token
and the language; HttpOnly, SameSite=Lax, Secure when served over HTTPS. The key comes from
``SAFETHIRD_SESSION_KEY`` (a Fernet key), else a new one per process (restarting the server
then logs everyone out)."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response

COOKIE = "st_session"
MAX_AGE = 8 * 3600  # a working day


@dataclass
class Session:
    uid: int | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    lang: str | None = None
    flash: str | None = None

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, token or "")


class Sessions:
    def __init__(self, key: str | None = None):
        key = key or os.environ.get("SAFETHIRD_SESSION_KEY") or Fernet.generate_key().decode()
        self._fernet = Fernet(key.encode())

    def load(self, request: Request) -> Session:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = json.loads(self._fernet.decrypt(raw.encode(), ttl=MAX_AGE))
                return Session(**{k: data.get(k) for k in ("uid", "csrf", "lang", "flash")})
            except (InvalidToken, ValueError, TypeError):
                pass
        return Session()

    def save(self, request: Request, response: Response, s: Session) -> None:
        value = self._fernet.encrypt(json.dumps(s.__dict__).encode()).decode()
        secure = request.url.scheme == "https" or \
            request.headers.get("x-forwarded-proto") == "https"
        response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax",
                            secure=secure, path="/")
