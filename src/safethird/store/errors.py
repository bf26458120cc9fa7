"""What the store refuses, in words an API or a page can show as they are."""

from __future__ import annotations


class StoreError(Exception):
    """A refused operation; ``field`` names the input at fault when there is one."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


class NotFound(StoreError):
    # a case of another organisation is "not found", not "forbidden": its existence is not told
    status = 404


class Forbidden(StoreError):
    status = 403


class Conflict(StoreError):
    status = 409


class Unauthorized(StoreError):
    status = 401
