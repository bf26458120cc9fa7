"""Periods of the law: when a rule version, a court order or an agreement's operation held.

A window runs from its first day up to, not including, its ``until`` day (the day a rule was
replaced or an order lifted is already outside it), as ``Window.covers`` reads the data."""

from __future__ import annotations

from safethird.law.data import Window
from safethird.logic.expr import AS_OF, Expr, date


def as_of_within(window: Window) -> Expr:
    """The as-of date falls in the window."""
    inside = AS_OF.ge(date(window.from_))
    return inside if window.until is None else inside & AS_OF.lt(date(window.until))
