"""The date of entry, attempted entry or arrival, as the facts bound it.

Every leg of the route ends on or before the arrival (the case schema checks it), so a dated
leg bounds an unknown arrival date from below: someone who left Mexico on 2019-10-01 arrived on
or after that day."""

from __future__ import annotations

import datetime as dt

from safethird.logic.expr import Expr, any_leg, date, fact


def arrived_on_or_after(day: dt.date) -> Expr:
    on_or_after = date(day)
    return fact("arrival.date").ge(on_or_after) | any_leg(
        fact("route[].left").ge(on_or_after) | fact("route[].entered").ge(on_or_after))
