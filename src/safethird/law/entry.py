"""The date of entry, attempted entry or arrival, as the facts bound it.

Every leg of the route ends on or before the arrival (the case schema checks it), so a dated
leg bounds an *unknown* arrival date from below: someone who left Mexico on 2019-10-01 arrived on
or after that day. A known arrival date is the answer, whatever the legs say (an undated leg
cannot make a known date unknown)."""

from __future__ import annotations

import datetime as dt

from safethird.logic.expr import Either, Expr, IsTrue, any_leg, date, fact


def arrival_date_known() -> Expr:
    arrived = fact("arrival.date")
    return IsTrue(arrived.ge(date(dt.date.min)))


def arrived_on_or_after(day: dt.date) -> Expr:
    on_or_after = date(day)
    leg_bound = any_leg(fact("route[].left").ge(on_or_after)
                        | fact("route[].entered").ge(on_or_after))
    # a leg's day bounds the arrival from below: both sides cannot hold of consistent facts
    return Either(fact("arrival.date").ge(on_or_after) | leg_bound,
                  fact("arrival.date").lt(on_or_after))
