"""YAML data files: text → data, and data → a checked model with a one-line error.

Parsing uses libyaml's C parser when PyYAML has it: the same safe loader, several times faster
than the pure-Python one (loading the law data was a tenth of a second of every command's
start)."""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
M = TypeVar("M", bound=BaseModel)


def load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_LOADER)


def checked(model: type[M], data: Any, name: str, error: type[Exception]) -> M:
    """``data`` as ``model``, or ``error("NAME: where: what")`` for the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        raise error(f"{name}: {loc}: {e['msg']}") from None
