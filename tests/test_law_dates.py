"""law/dates.py: the rule's reading of a window, ``as_of_within``, says what the data's own
``Window.covers`` says, for every day around every window the law data holds."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from safethird.law.data import Window, load_law
from safethird.law.dates import as_of_within
from safethird.logic.evaluate import evaluate

DAYS = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2030, 12, 31))


def _windows() -> list[Window]:
    law = load_law()
    found = [*law.transit_bar.versions, *law.transit_bar.vacated, *law.clp.vacated,
             *(p for a in law.agreements for p in a.operation)]
    assert any(w.until is None for w in found) and any(w.until is not None for w in found)
    return found


WINDOWS = _windows()


@given(st.sampled_from(WINDOWS), DAYS)
def test_as_of_within_is_window_covers(window: Window, day: dt.date) -> None:
    assert evaluate(as_of_within(window), {}, day) is window.covers(day)


def test_a_window_holds_from_its_first_day_up_to_but_not_on_its_until_day() -> None:
    for w in WINDOWS:
        one = dt.timedelta(days=1)
        assert [evaluate(as_of_within(w), {}, d) for d in (w.from_ - one, w.from_)] == \
            [False, True]
        if w.until is not None:
            assert [evaluate(as_of_within(w), {}, d) for d in (w.until - one, w.until)] == \
                [True, False]
