"""What the engine does not decide, said in every determination it could matter to.

Two kinds of warning (CONTRACT.md section 5, ``warnings``), both from
``law/data/rules/not-encoded.yaml``:

* ``not_encoded``: a measure that may reach the case and that no rule module encodes (Title 42,
  Proclamation 10888, the Securing the Border rule). It could reach the case when the as-of date
  is on or after its start and the arrival — date and border — falls in its reach. An unknown
  arrival date or border could fall in it, so the warning is given (Kleene: the condition is
  unknown, not false).
* ``law_reviewed_through``: the as-of date is after the date the law data was last reviewed (the
  newest source it rests on), so law made or changed since is not known to the engine.

Each warning is a clause over the facts, evaluated like the findings (per case and vectorized);
it is shown unless its clause is false.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safethird.law.data import Law, Measure, Sourced
from safethird.logic.expr import AS_OF, Clause, Expr, all_of, date, fact

NOT_ENCODED, LAW_REVIEWED_THROUGH = "not_encoded", "law_reviewed_through"


@dataclass(frozen=True)
class Caution:
    code: str
    measure: str | None
    message: str
    citations: tuple[str, ...]
    clause: Clause  # not false = the warning is given

    @property
    def node(self) -> str:
        return f"warning.{self.measure or self.code}"

    def entry(self) -> dict[str, Any]:
        return {"code": self.code, "measure": self.measure, "message": self.message,
                "citations": list(self.citations)}


def could_reach(m: Measure) -> Expr:
    arrival, border = fact("arrival.date"), fact("arrival.border")
    conditions = [AS_OF.ge(date(m.from_)), ~arrival.lt(date(m.from_)),
                  border.isin(list(m.borders))]
    if m.until is not None:
        conditions.append(arrival.lt(date(m.until)))
    return all_of(*conditions)


def cautions(law: Law) -> tuple[Caution, ...]:
    ne = law.not_encoded
    if ne is None:
        return ()
    out = []
    for m in ne.measures:
        reach = (f"arrivals from {m.from_}" + (f" until {m.until}" if m.until else "")
                 + f" at the {', '.join(b.replace('_', ' ') for b in m.borders)} border(s)")
        message = f"{m.title}: {m.message} Status as last reviewed ({m.status_date}): {m.status}"
        out.append(Caution(NOT_ENCODED, m.id, message, m.citations, Clause(
            f"warning.{m.id}", f"the measure could reach this person ({reach})",
            "; ".join(m.citations), could_reach(m))))
    h = ne.horizon.reviewed_through
    out.append(Caution(
        LAW_REVIEWED_THROUGH, None,
        f"The law data was last reviewed through {h} (the newest source it rests on); the "
        f"as-of date is later, and law made or changed after {h} is not known to this engine.",
        ("law/data/rules/not-encoded.yaml (horizon)",),
        Clause(f"warning.{LAW_REVIEWED_THROUGH}",
               f"the as-of date is after {h}, the date the law data was last reviewed",
               "safethird law data horizon", AS_OF.gt(date(h)))))
    return tuple(out)


def uncertain_law(law: Law, partners: list[str], as_of: dt.date) -> list[str]:
    """The closing note: for each partner agreement an answer rests on, the facts that rest on
    less than a primary source or are still to verify, with their sources."""
    out = []
    for p in partners:
        a = law.agreement_for(p, as_of)
        if a is None:
            continue
        parts: list[tuple[str, Sourced]] = [
            ("signed", a.signed), ("entry into force", a.entry_into_force),
            ("first arrival covered", a.applies_to_arrivals),
            *((f"operation from {ph.from_}", ph) for ph in a.operation)]
        if a.legal_status is not None:
            parts.append((f"legal status {a.legal_status.value} (basis "
                          f"{a.legal_status.basis})", a.legal_status))
        if a.nationality_scope is not None:
            parts.append((f"nationality scope ({a.nationality_scope.text})"
                          + (f", uncertain for {', '.join(a.nationality_scope.uncertain)}"
                             if a.nationality_scope.uncertain else ""), a.nationality_scope))
        parts += [(f"exclusion {e.id}", e) for e in a.exceptions]
        weak = [f"{label} [{f.strength or f.confidence}: {', '.join(f.sources)}]"
                for label, f in parts
                if f.confidence == "to_verify" or (f.strength or "primary") != "primary"]
        if weak:
            out.append(f"{a.id} ({p}): " + "; ".join(weak))
    return out
