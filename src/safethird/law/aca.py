"""INA 208(a)(2)(A) and 8 CFR 208.30(e)(7): the Asylum Cooperative Agreements (ACAs).

Interim final rule 84 FR 63994 (Nov. 19, 2019), for every agreement in ``law/data/agreements``.
Read beside the provisions, for each prospective receiving country in turn (8 CFR
208.30(e)(7)(ii), (iv): the officer tests each agreement that could apply):

1. legal effect: the agreement in force for an arrival on this date, on the as-of date (the rule
   is prospective: 84 FR 63994, DATES); (1a) an instrument whose legal basis the sources leave
   unsettled (a disputed arrangement, a memorandum) gives an unknown legal effect, never a
   certain one;
2. operation: the US was sending people under it on the as-of date (an agreement in force and
   not operated is ``not_operating``, not "no agreement in force");
3. INA 208(a)(2)(A) / (e)(7)(iii)(A): not to the person's country of nationality or, if
   stateless, of last habitual residence (lawful or not: ``habitual_residence``);
3a. the agreement's own nationality scope (e.g. Honduras 2025: Spanish-speaking Latin American
   nationals who need no visa for Honduras), as announced by the parties;
4. INA 208(a)(2)(E): not an unaccompanied alien child;
5. the agreements' own exceptions ((e)(7)(iii)): a valid US visa or admission document other
   than a transit visa, or not required to obtain a visa (from the nationality and the law
   data, ``law/visas.py``); (5a) a criminal record, where the agreement excludes it;
6. (variant ``transit-required`` only) the person passed through the receiving country;
7. the operation's scope: the nationalities, groups, border, place and Border Patrol sector the
   US applied it to at that time (where the record is silent, unknown);
8. (e)(7)(iii)(B): the USCIS Director's public-interest exception;
9. (e)(7)(i)-(ii): fear of the receiving country established (more likely than not), which the
   person must raise and prove — not shown is not established, but stays a missing fact.

The finding is the agreement's reach: a person it reaches is *amenable* to it. Whether DHS
actually sought removal under it (``aca_invoked``: 8 CFR 208.30(e)(7) begins only when the
officer "seeks the alien's removal" under an agreement) is the procedure's question
(``law/procedure.py``), not this finding's.

A stage defeats the agreement when it removes every receiving country still in play; the reason
reported is that stage, in this order (CONTRACT.md): no_agreement_in_force, not_operating,
partner_national, nationality_not_covered, unaccompanied_child, admission_document,
criminal_record, partner_not_transited (variant), outside_operational_scope, public_interest,
fear_of_receiving_country. Several agreements may share a partner (the 2019 and 2025 agreements
with Honduras): the stages run per agreement, and a partner can receive the person when one of
its agreements still can.
"""

from __future__ import annotations

import datetime as dt

from safethird.law.data import Agreement, Law
from safethird.law.dates import as_of_within
from safethird.law.entry import arrived_on_or_after
from safethird.law.geography import arrived_in_sectors, southern_land_arrival
from safethird.law.uac import unaccompanied_alien_child
from safethird.law.visas import not_required_to_obtain_a_visa
from safethird.logic.expr import (
    AS_OF,
    UNKNOWN,
    Clause,
    Const,
    Contains,
    Expr,
    IsEmpty,
    IsTrue,
    Overlaps,
    all_of,
    any_leg,
    any_of,
    date,
    fact,
)
from safethird.logic.finding import Finding, Reason

PROVISION = "INA 208(a)(2)(A); 8 CFR 208.30(e)(7); 8 CFR 1240.11(h)"
TRUE = Const(True, "bool")


def in_force(a: Agreement) -> Clause:
    until = a.in_force_until
    legal = arrived_on_or_after(a.applies_to_arrivals.from_) & AS_OF.ge(
        date(a.applies_to_arrivals.from_))
    if until is not None:
        legal = legal & AS_OF.lt(date(until))
    return Clause(
        f"aca.{a.partner}.in_force",
        f"the {a.partner} agreement covered an arrival on this date (from "
        f"{a.applies_to_arrivals.from_}) and was not suspended on the as-of date",
        f"INA 208(a)(2)(A); {a.federal_register}; 84 FR 63994 (prospective only)", legal)


def operating(a: Agreement) -> Clause:
    return Clause(
        f"aca.{a.partner}.operating",
        f"the US was sending people under the {a.partner} agreement on the as-of date",
        "; ".join(sorted({s for p in a.operation for s in p.sources}
                         | set(a.operation_sources))) or "(no operation)",
        any_of(*(as_of_within(p) for p in a.operation)))


def partner_national(a: Agreement) -> Clause:
    p = a.partner
    nationalities = fact("nationalities")
    return Clause(
        f"aca.{p}.partner_national",
        f"the person is a national of {p}, or stateless with last habitual residence (lawful "
        f"or not) in {p}",
        "INA 208(a)(2)(A); 8 CFR 208.30(e)(7)(iii)(A)",
        Contains(nationalities, Const(p))
        | (IsEmpty(nationalities) & fact("habitual_residence").eq(p)))


def transited(a: Agreement) -> Clause:
    return Clause(
        f"aca.{a.partner}.transited",
        f"the person passed through {a.partner} en route to the United States",
        "variant transit-required (reading of the 2019 press coverage; not in the rule)",
        any_leg(fact("route[].country").eq(a.partner)))


def in_operational_scope(a: Agreement) -> Clause:
    phases = []
    for p in a.operation:
        conditions = [as_of_within(p)]
        if p.nationalities is not None:
            conditions.append(Overlaps(fact("nationalities"), p.nationalities))
        if "family_unit" not in p.groups:
            conditions.append(~fact("family_unit"))
        if p.arrival_states is not None:
            conditions.append(fact("arrival.state").isin(p.arrival_states))
        if p.borders is not None:
            border = fact("arrival.border").isin(p.borders)
            if "southern_land" in p.borders:
                border = border | southern_land_arrival()
            conditions.append(border)
        if p.places is not None:
            conditions.append(fact("arrival.place").isin(p.places))
        if p.sectors is not None:
            conditions.append(arrived_in_sectors(p.sectors))
        phases.append(all_of(*conditions))
    return Clause(
        f"aca.{a.partner}.in_operational_scope",
        f"on the as-of date the US applied the {a.partner} agreement to people of this "
        f"nationality and group arriving at this border, place and Border Patrol sector",
        "; ".join(sorted({s for p in a.operation for s in p.sources})) or "(no operation)",
        any_of(*phases))


def legal_basis(a: Agreement) -> Expr:
    """TRUE for an agreement under INA 208(a)(2)(A); unknown where the sources leave it open."""
    status = a.legal_status
    if status is None or status.basis == "ina_208_a_2_A":
        return TRUE
    return Clause(f"aca.{a.id}.legal_basis",
                  f"the {a.partner} instrument ({status.value.replace('_', ' ')}) is an agreement "
                  f"INA 208(a)(2)(A) and 8 CFR 208.30(e)(7) / 1240.11(h) can rest on (the "
                  f"sources leave this open)", "INA 208(a)(2)(A); law data: legal status",
                  UNKNOWN)


def outside_nationality_scope(a: Agreement) -> Expr:
    """The person's nationality lies outside the agreement's own scope (unknown where the
    sources do not settle whether it is covered)."""
    scope = a.nationality_scope
    if scope is None:
        return Const(False, "bool")
    nationalities = fact("nationalities")
    covered = Overlaps(nationalities, scope.covered)
    if scope.uncertain:
        covered = covered | (Overlaps(nationalities, scope.uncertain) & UNKNOWN)
    return Clause(f"aca.{a.id}.outside_nationality_scope",
                  f"the person's nationality is outside the {a.partner} agreement's own scope "
                  f"({scope.text})", scope.citation, ~covered)


def criminal_record_excluded(a: Agreement) -> Expr:
    exc = next((e for e in a.exceptions if e.id == "criminal_record"), None)
    if exc is None:
        return Const(False, "bool")
    return Clause(f"aca.{a.id}.criminal_record",
                  f"the person has a criminal record, which the {a.partner} agreement excludes "
                  f"({exc.text})", exc.citation, fact("criminal_record"))


def rule(law: Law) -> Finding:
    agreements = law.agreements
    child = unaccompanied_alien_child()
    uac = Clause("aca.unaccompanied_child", child.text, "INA 208(a)(2)(E); 6 U.S.C. 279(g)(2)",
                 child)
    document = Clause(
        "aca.admission_document",
        "the person arrived with a valid US visa or other valid admission document (not a "
        "transit visa), or was not required to obtain a visa",
        "8 CFR 208.30(e)(7)(iii); the agreements' exceptions for document holders",
        fact("admission_document").isin(["valid_visa", "other_valid_admission_document"])
        | not_required_to_obtain_a_visa(law))
    public_interest = Clause(
        "aca.public_interest",
        "the Director of USCIS (or designee) decided it is in the public interest that the "
        "person receive asylum in the United States",
        "INA 208(a)(2)(A); 8 CFR 208.30(e)(7)(iii)(B)", fact("public_interest_exception"))

    # Each stage keeps the receiving countries still in play after it.
    def fear(a: Agreement) -> Clause:
        return Clause(
            f"aca.{a.partner}.fear_established",
            f"the person established that it is more likely than not they would be persecuted "
            f"on a protected ground or tortured in {a.partner}",
            "8 CFR 208.30(e)(7)(i)-(ii)",
            IsTrue(fact(f"fear_of_receiving_country.{a.partner}")))

    # keyed by agreement: the 2019 and 2025 agreements with Honduras are two instruments
    stages: list[tuple[str, dict[str, Expr]]] = [
        ("no_agreement_in_force", {a.id: _in_force(a) for a in agreements}),
        ("not_operating", {a.id: operating(a) for a in agreements}),
        ("partner_national", {a.id: ~partner_national(a) for a in agreements}),
        ("nationality_not_covered", {a.id: ~outside_nationality_scope(a) for a in agreements}),
        ("unaccompanied_child", {a.id: ~uac for a in agreements}),
        ("admission_document", {a.id: ~document for a in agreements}),
        ("criminal_record", {a.id: ~criminal_record_excluded(a) for a in agreements}),
    ]
    if law.aca_requires_transit:
        stages.append(("partner_not_transited", {a.id: transited(a) for a in agreements}))
    stages += [
        ("outside_operational_scope", {a.id: in_operational_scope(a) for a in agreements}),
        ("public_interest", {a.id: ~public_interest for a in agreements}),
        ("fear_of_receiving_country", {a.id: ~fear(a) for a in agreements}),
    ]
    texts = {
        "no_agreement_in_force": ("no agreement was in force for this arrival on the as-of "
                                  "date (not yet in force, not covering arrivals this early, "
                                  "suspended or terminated)", PROVISION),
        "not_operating": ("an agreement was in force, but the US was not sending anyone under "
                          "it on the as-of date (never put into operation, or paused)",
                          "the agreements' operation (see law data sources)"),
        "partner_national": ("the person is a national (or stateless habitual resident, lawful "
                             "or not) of "
                             "every partner whose agreement could apply",
                             "INA 208(a)(2)(A); 8 CFR 208.30(e)(7)(iii)(A)"),
        "nationality_not_covered": ("the person's nationality is outside the own scope of "
                                    "every agreement that could apply (the nationalities its "
                                    "parties limited it to)",
                                    "INA 208(a)(2)(A); the agreements' scope (law data)"),
        "criminal_record": ("the person has a criminal record, which every agreement still in "
                            "play excludes", "the agreements' exclusions (law data)"),
        "unaccompanied_child": (uac.text, uac.citation),
        "admission_document": (document.text, document.citation),
        "partner_not_transited": ("the person passed through no partner whose agreement could "
                                  "apply", "variant transit-required"),
        "outside_operational_scope": ("the US was not applying the agreement(s) to people of this "
                                      "nationality or group, or at this border, place or "
                                      "Border Patrol sector, at that time",
                                      "operation of the agreements (see law data sources)"),
        "public_interest": (public_interest.text, public_interest.citation),
        "fear_of_receiving_country": ("the person established more-likely-than-not persecution "
                                      "or torture in every partner that could receive them",
                                      "8 CFR 208.30(e)(7)(i)-(ii)"),
    }
    remaining: dict[str, Expr] = {a.id: TRUE for a in agreements}
    reasons = []
    for code, keep in stages:
        before = any_of(*remaining.values()) if code != "no_agreement_in_force" else TRUE
        remaining = {p: (keep[p] if code == "no_agreement_in_force" else remaining[p] & keep[p])
                     for p in remaining}
        text, citation = texts[code]
        condition = ~any_of(*remaining.values())
        reasons.append(Reason(code, Clause(f"aca.{code}", text, citation,
                                           condition if code == "no_agreement_in_force"
                                           else before & condition),
                              shows=_unique(keep.values())))
    subject = Clause(
        "aca.subject_to_agreement",
        "none of the above: the person is amenable to the agreement — if DHS seeks their removal "
        "under it, they may be removed to the partner country to seek protection there and "
        "may not apply for asylum in the United States",
        "INA 208(a)(2)(A); 8 CFR 208.30(e)(7)(i)", ~any_of(*(r.clause for r in reasons)))
    by_partner: dict[str, list[Expr]] = {}
    for a in agreements:  # the law data's order
        by_partner.setdefault(a.partner, []).append(remaining[a.id])
    partners = tuple(
        (p, Clause(f"aca.receiving.{p}", f"{p} could receive the person under its agreement",
                   "8 CFR 208.30(e)(7)(i); 8 CFR 1240.11(h) (alternate orders)", any_of(*exprs)))
        for p, exprs in by_partner.items())
    return Finding("aca", PROVISION, tuple(reasons), subject, partners)


def concluded(a: Agreement) -> Expr:
    """For an agreement invoked against pending cases (its first covered arrival is the rule's,
    not its own): the as-of date is on or after it took effect — an earlier operation (a
    scenario's) cannot reach back before the instrument existed."""
    start = a.in_force_from
    if not a.applies_to_arrivals.pending_cases:
        return TRUE
    if start is None:  # entry into force not found: it cannot have preceded the signature
        signed = a.signed.date if isinstance(a.signed.date, dt.date) else None
        if signed is None:
            return Const(False, "bool")
        start = signed
    return Clause(f"aca.{a.id}.concluded", f"on the as-of date the {a.partner} instrument had "
                  f"taken effect ({start})", "law data: entry into force / first operation",
                  AS_OF.ge(date(start)))


def _in_force(a: Agreement) -> Expr:
    # an unsettled legal basis matters only for an instrument the US operates
    parts = [in_force(a), concluded(a),
             legal_basis(a) if a.operation else TRUE]
    return all_of(*(p for p in parts if p is not TRUE))


def _unique(exprs: object) -> Expr:
    """The distinct conditions of a stage (person-level ones repeat for every partner)."""
    from safethird.logic.expr import And

    distinct = list({id(e): e for e in exprs}.values())  # type: ignore[attr-defined]
    return distinct[0] if len(distinct) == 1 else And(tuple(distinct))
