"""Case facts encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``).

Keys come from the environment, never from the database: ``SAFETHIRD_FACT_KEYS`` holds one or
more Fernet keys separated by commas, the first one encrypts, all of them decrypt
(``MultiFernet``). ``SAFETHIRD_FACT_KEYS_FILE`` may name a file holding the same list instead.

Rotation: put a new key first (``safethird store new-key`` prints one), keep the old ones after
it, run ``safethird store reencrypt`` (every encrypted value is rewritten under the first key),
then drop the old keys from the list."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from safethird.store.errors import StoreError

KEYS_ENV = "SAFETHIRD_FACT_KEYS"
KEYS_FILE_ENV = "SAFETHIRD_FACT_KEYS_FILE"


class KeyError_(StoreError):
    status = 500


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def keys_from_env() -> list[str]:
    raw = os.environ.get(KEYS_ENV)
    if not raw and os.environ.get(KEYS_FILE_ENV):
        path = Path(os.environ[KEYS_FILE_ENV])
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyError_(f"{KEYS_FILE_ENV}={path}: cannot read the key file ({exc.strerror})"
                            ) from None
    keys = [k.strip() for k in (raw or "").replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise KeyError_(f"no encryption key for case facts: set {KEYS_ENV} (comma-separated "
                        f"Fernet keys, newest first; `safethird store new-key` prints one) or "
                        f"{KEYS_FILE_ENV}")
    return keys


class Cipher:
    """Encrypts JSON values; the first key encrypts, every key decrypts."""

    def __init__(self, keys: list[str] | None = None):
        keys = keys if keys is not None else keys_from_env()
        try:
            self._fernets = [Fernet(k.encode("ascii")) for k in keys]
        except (ValueError, UnicodeEncodeError):
            raise KeyError_(f"{KEYS_ENV}: not a list of Fernet keys (32 url-safe base64-encoded "
                            "bytes each)") from None
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, value: Any) -> bytes:
        return self._multi.encrypt(json.dumps(value, sort_keys=True).encode("utf-8"))

    def decrypt(self, token: bytes) -> Any:
        try:
            return json.loads(self._multi.decrypt(bytes(token)))
        except InvalidToken:
            raise KeyError_("a stored value cannot be decrypted with any key in "
                            f"{KEYS_ENV} (was a key dropped before `safethird store "
                            "reencrypt`?)") from None

    def rotate(self, token: bytes) -> bytes:
        return self._multi.rotate(bytes(token))

    def is_current(self, token: bytes) -> bool:
        try:
            self._fernets[0].decrypt(bytes(token))
        except InvalidToken:
            return False
        return True
