"""Who was "not required to obtain a visa" to enter the United States (the agreements'
exception, 8 CFR 208.30(e)(7)(iii)), read from the nationality, the arrival date and the law data
(``law/data/visa-exemptions.yaml``).

Read beside the instruments, on the day of arrival:

1. 8 CFR 212.1(a)(1)-(2): a Canadian citizen, or a citizen of the British Overseas Territory of
   Bermuda, needs no visa ("A visa is not required") — exempt outright;
2. 8 U.S.C. 1187(a): a national of a Visa Waiver Program country needs no visa only if they also
   meet every condition of (a)(1)-(12): applying for admission as a visitor for 90 days or less
   ((a)(1)), an ESTA determination of eligibility ((a)(11)), no earlier violation ((a)(7)), not
   present in Iraq, Syria or a designated country since Mar. 1, 2011 ((a)(12)(A)(i)). None of
   these is a fact of the case, so the program nationality opens the question and never settles
   it: ``visa_exempt`` is asked, and only of these nationals. One condition the case does
   record: (a)(12)(A)(ii)(I) — "regardless of whether the alien is a national of a program
   country", not a national of Iraq or Syria — closes the program to such a dual national;
3. Compacts of Free Association sec. 141(a) (8 CFR 212.1(d)): a citizen of Micronesia, the
   Marshall Islands or Palau by birth (or who acquired FSM or RMI citizenship in 1986) may enter
   without a visa — again a condition the case does not record, so the question is asked;
4. everyone else needed a visa: a person all of whose nationalities (none, if stateless) are
   outside 1-3 on the arrival date was required to obtain one — derived, not asked.

What the person states (``visa_exempt``) is their own fact and decides wherever the law data
leaves the answer open (2, 3, an unknown nationality, an arrival date unknown across a
designation, an arrival before the data's first day); there a stated false is false and a stated
true is true. Where the data settles it (1, 4), the data's answer holds and ``visa_exempt`` is
never asked: an answer that depends on a fact is one the exact reasoning must ask for, in every
case where that fact could change it (logic/exact.py), so letting a statement contradict the
data (a Honduran "exempt") would put the question back to every Honduran whose agreement finding
is still open on anything else. Such a statement is not dropped in silence: the memo says that
the data settles it against the record (phrasing of ``visas.not_required_to_obtain_a_visa``).
A visa waived for one person alone (8 CFR 212.1(g), an unforeseen emergency) follows from
nothing the case records; this engine reads the approved waiver as an admission document
(``admission_document: other_valid_admission_document``), a reading docs/law.md flags.
"""

from __future__ import annotations

from collections.abc import Iterable

from safethird.law.data import Law, VisaExemption
from safethird.logic.expr import (
    Clause,
    Expr,
    Overlaps,
    all_of,
    any_of,
    date,
    fact,
)

CITATION = "8 CFR 212.1(a), (d); 8 U.S.C. 1187(a); 8 CFR 217.2(a)"


def _during(e: VisaExemption, arrived: Expr) -> Expr:
    parts = [arrived.ge(date(e.from_))]
    if e.until is not None:
        parts.append(arrived.lt(date(e.until)))
    return all_of(*parts)


def _any_national(exemptions: Iterable[VisaExemption], arrived: Expr) -> Expr:
    """A nationality of the person is one of these exemptions' on the arrival date."""
    nationalities = fact("nationalities")
    return any_of(*(Overlaps(nationalities, e.nationalities) & _during(e, arrived)
                    for e in exemptions))


def exempt_outright(law: Law) -> Clause:
    v = law.visas
    assert v is not None
    arrived = fact("arrival.date")
    outright = [e for e in v.exemptions if e.kind == "outright"]
    return Clause(
        "visas.exempt_outright",
        "on the arrival date a nationality of the person was exempt from the visa requirement "
        "outright (8 CFR 212.1(a))",
        "; ".join(dict.fromkeys(part for e in outright for part in e.citation.split("; "))),
        arrived.ge(date(v.covers.from_)) & _any_national(outright, arrived))


def exemption_possible(law: Law) -> Clause:
    """A nationality under an instrument that waives the visa only for those who meet its
    conditions (the Visa Waiver Program, the Compacts)."""
    v = law.visas
    assert v is not None
    arrived = fact("arrival.date")
    program = [e for e in v.exemptions if e.kind == "visa_waiver_program"]
    compact = [e for e in v.exemptions if e.kind == "compact"]
    excluded = v.program_excluded_nationalities
    # 8 U.S.C. 1187(a)(12)(A)(ii)(I): whatever the program nationality, not Iraqi or Syrian
    in_program = _any_national(program, arrived) & ~Overlaps(fact("nationalities"),
                                                             excluded.nationalities)
    return Clause(
        "visas.exemption_possible",
        "on the arrival date a nationality of the person was under the Visa Waiver Program or a "
        "Compact of Free Association, which waive the visa only for those who meet their "
        "conditions",
        "; ".join(dict.fromkeys([
            "8 U.S.C. 1187(a)(2)", excluded.citation,
            *(part for e in program + compact for part in e.citation.split("; "))])),
        in_program | _any_national(compact, arrived))


def every_nationality_needed_a_visa(law: Law, outright: Clause, possible: Clause) -> Clause:
    v = law.visas
    assert v is not None
    arrived = fact("arrival.date")
    return Clause(
        "visas.every_nationality_needed_a_visa",
        "on the arrival date no nationality of the person was exempt from the visa requirement "
        "(a stateless person has none)",
        f"INA 212(a)(7)(B)(i)(II); {CITATION}; law data: visa exemptions",
        arrived.ge(date(v.covers.from_)) & ~outright & ~possible)


def not_required_to_obtain_a_visa(law: Law) -> Expr:
    """The person was not required to obtain a visa: as the law data settles it from the
    nationality and the arrival date; where it does not, as stated (else unknown)."""
    stated = fact("visa_exempt")
    if law.visas is None:  # no law data: the person's own fact alone
        return stated
    outright = exempt_outright(law)
    needed = every_nationality_needed_a_visa(law, outright, exemption_possible(law))
    # exempt outright → true; every nationality needed a visa → false; otherwise (a program or
    # Compact nationality, an unknown nationality or date) the stated fact, unknown if unstated
    return Clause(
        "visas.not_required_to_obtain_a_visa",
        "the person was not required to obtain a visa to enter the United States (as the law "
        "data answers it from the nationality and the arrival date; where it leaves it open, "
        "as stated)",
        CITATION,
        (outright | stated) & ~needed)
