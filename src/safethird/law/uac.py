"""6 U.S.C. 279(g)(2): who is an unaccompanied alien child.

The screener's own finding (``unaccompanied_child``) governs. When it is unknown, the definition
still settles two cases: a person who arrived as part of a family unit (with a parent or legal
guardian) is not unaccompanied, and a person 18 or older on arrival is not a child.
"""

from __future__ import annotations

from functools import cache

from safethird.logic.expr import AddYears, Clause, Either, fact


@cache
def unaccompanied_alien_child() -> Clause:
    stated = fact("unaccompanied_child")
    adult = AddYears(fact("birth_date"), 18).lt(fact("arrival.date")) | AddYears(
        fact("birth_date"), 18).eq(fact("arrival.date"))
    known_not = ~stated | fact("family_unit") | adult
    return Clause(
        "unaccompanied_alien_child",
        "the person is an unaccompanied alien child (under 18, no lawful status, no parent or "
        "legal guardian in the US available to care for them)",
        "6 U.S.C. 279(g)(2)",
        Either(stated, known_not))
