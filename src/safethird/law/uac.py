"""6 U.S.C. 279(g)(2): who is an unaccompanied alien child.

The screener's own finding (``unaccompanied_child``) governs. When it is unknown, a person who
arrived as part of a family unit (with a parent or legal guardian) is, by the definition, not
unaccompanied; otherwise the status stays unknown.
"""

from __future__ import annotations

from functools import cache

from safethird.logic.expr import UNKNOWN, Clause, IsTrue, fact


@cache
def unaccompanied_alien_child() -> Clause:
    stated = fact("unaccompanied_child")
    known_not = IsTrue(~stated) | IsTrue(fact("family_unit"))
    return Clause(
        "unaccompanied_alien_child",
        "the person is an unaccompanied alien child (under 18, no lawful status, no parent or "
        "legal guardian in the US available to care for them)",
        "6 U.S.C. 279(g)(2)",
        IsTrue(stated) | (~known_not & UNKNOWN))
