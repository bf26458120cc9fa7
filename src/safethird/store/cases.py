"""Cases: create, read, list, update (optimistic locking), delete; their fact history and their
immutable determinations. Every read and write appends to the audit log in the same
transaction; every operation is scoped to the caller's organisation."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from safethird import facts as facts_mod
from safethird.store import audit
from safethird.store.accounts import require
from safethird.store.crypto import Cipher
from safethird.store.db import comparable
from safethird.store.errors import Conflict, NotFound, StoreError
from safethird.store.models import Case, DeterminationRecord, FactChange, User, utcnow

MAX_LABEL = 200


def canonical_facts(data: Any) -> dict[str, Any]:
    """Validate case facts (CONTRACT.md section 1) and return them in one canonical JSON form:
    unknown facts left out. Raises StoreError naming the field."""
    try:
        case = facts_mod.parse_case(data)
    except facts_mod.CaseError as exc:
        raise StoreError(exc.message, field=f"facts.{exc.field}" if exc.field != "(case)"
                         else "facts") from None
    dumped = case.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in dumped.items() if v not in ({}, None)}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Fact paths as CONTRACT.md writes them: ``arrival.date``, ``route[1].country``,
    ``fear_of_receiving_country.GT``; lists of scalars (nationalities) stay whole."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list) and any(isinstance(x, dict) for x in value):
        for i, v in enumerate(value):
            out |= flatten(v, f"{prefix}[{i}]")
        if not value:
            out[prefix] = []
    else:
        out[prefix] = value
    return out


def audit_paths(paths: Any) -> list[str]:
    """Fact paths as the audit log may hold them: a path whose key is itself a fact (the
    country in ``fear_of_receiving_country.GT`` says whom the person fears) keeps only the
    fact's name, ``fear_of_receiving_country.*``. The log holds no personal data."""
    return sorted({facts_mod.FEAR_PREFIX + "*" if p.startswith(facts_mod.FEAR_PREFIX) else p
                   for p in paths})


@dataclass
class CaseView:
    id: str
    label: str
    facts: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    dont_know: list[str]


def _view(c: Case, cipher: Cipher) -> CaseView:
    interview = cipher.decrypt(c.interview_enc) if c.interview_enc else {}
    return CaseView(c.public_id, cipher.decrypt(c.label_enc), cipher.decrypt(c.facts_enc),
                    c.version, c.created_at, c.updated_at, interview.get("dont_know", []))


def _label(label: Any) -> str:
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise StoreError(f"a text of at most {MAX_LABEL} characters", field="label")
    return label.strip()


def _row(s: Session, user: User, case_id: str) -> Case:
    c = s.scalar(select(Case).where(Case.public_id == case_id)) if comparable(case_id) else None
    if c is None or c.org_id != user.org_id:
        raise NotFound(f"no case {case_id!r} in your organisation", field="case_id")
    return c


def create(s: Session, cipher: Cipher, user: User, facts: Any, label: Any = "") -> CaseView:
    require(user, "write")
    record = canonical_facts(facts if facts is not None else {})
    now = utcnow()
    c = Case(public_id="c" + secrets.token_hex(8), org_id=user.org_id,
             label_enc=cipher.encrypt(_label(label)), facts_enc=cipher.encrypt(record),
             created_at=now, updated_at=now, created_by=user.id, updated_by=user.id)
    s.add(c)
    s.flush()
    _history(s, cipher, user, c, {}, record)
    audit.append(s, user, "case.create", c.public_id, version=c.version,
                 paths=audit_paths(flatten(record)))
    return _view(c, cipher)


def read(s: Session, cipher: Cipher, user: User, case_id: str) -> CaseView:
    require(user, "read")
    c = _row(s, user, case_id)
    audit.append(s, user, "case.read", c.public_id, version=c.version)
    return _view(c, cipher)


def listing(s: Session, cipher: Cipher, user: User, *, offset: int = 0, limit: int = 50
            ) -> tuple[list[CaseView], int]:
    require(user, "read")
    q = select(Case).where(Case.org_id == user.org_id)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.scalars(q.order_by(Case.updated_at.desc(), Case.id.desc())
                     .offset(offset).limit(limit)).all()
    audit.append(s, user, "case.list", cases=[c.public_id for c in rows])
    return [_view(c, cipher) for c in rows], total


def update(s: Session, cipher: Cipher, user: User, case_id: str, *, version: int,
           facts: Any = None, label: Any = None, dont_know: list[str] | None = None
           ) -> CaseView:
    """Replace a case's facts (and/or label, and/or the facts answered "don't know") if it
    is still at ``version``; else Conflict."""
    require(user, "write")
    c = _row(s, user, case_id)
    if c.version != version:
        raise Conflict(f"case {case_id} was changed by someone else (it is at version "
                       f"{c.version}, your copy is version {version}): reload it and apply "
                       f"your change again", field="version")
    old = cipher.decrypt(c.facts_enc)
    new = canonical_facts(facts) if facts is not None else old
    if label is not None:
        c.label_enc = cipher.encrypt(_label(label))
    if dont_know is not None:
        c.interview_enc = cipher.encrypt({"dont_know": sorted(set(dont_know))})
    c.facts_enc, c.updated_at, c.updated_by = cipher.encrypt(new), utcnow(), user.id
    s.flush()  # the version check happens in this UPDATE (StaleDataError on a lost race)
    changed = _history(s, cipher, user, c, old, new)
    audit.append(s, user, "case.update", c.public_id, version=c.version,
                 paths=audit_paths(changed))
    return _view(c, cipher)


def _history(s: Session, cipher: Cipher, user: User, c: Case, old: dict[str, Any],
             new: dict[str, Any]) -> list[str]:
    before, after = flatten(old), flatten(new)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    for p in changed:
        s.add(FactChange(case_id=c.id, user_id=user.id, version=c.version, path=p,
                         old_enc=cipher.encrypt(before.get(p)),
                         new_enc=cipher.encrypt(after.get(p))))
    return changed


def history(s: Session, cipher: Cipher, user: User, case_id: str) -> list[dict[str, Any]]:
    require(user, "read")
    c = _row(s, user, case_id)
    rows = s.execute(select(FactChange, User.email).join(User, User.id == FactChange.user_id)
                     .where(FactChange.case_id == c.id).order_by(FactChange.id)).all()
    audit.append(s, user, "case.history", c.public_id)
    return [{"at": f.at.isoformat() + "Z", "by": email, "version": f.version, "fact": f.path,
             "from": cipher.decrypt(f.old_enc), "to": cipher.decrypt(f.new_enc)}
            for f, email in rows]


def remove(s: Session, user: User, case_id: str) -> None:
    """Delete a case with its facts, history and determinations; only the audit log keeps a
    trace (entries that never held facts, and the entry of the deletion)."""
    require(user, "write")
    c = _row(s, user, case_id)
    s.execute(delete(FactChange).where(FactChange.case_id == c.id))
    s.execute(delete(DeterminationRecord).where(DeterminationRecord.case_id == c.id))
    s.delete(c)
    s.flush()
    audit.append(s, user, "case.delete", case_id)


def record_determination(s: Session, cipher: Cipher, user: User, case_id: str,
                         result: dict[str, Any], *, version: int | None = None
                         ) -> dict[str, Any]:
    """Store a determination made on the case's current facts (immutable from then on)."""
    require(user, "write")
    c = _row(s, user, case_id)
    if version is not None and c.version != version:
        raise Conflict(f"case {case_id} is at version {c.version}, not {version}",
                       field="version")
    d = DeterminationRecord(
        public_id="d" + secrets.token_hex(8), case_id=c.id, case_version=c.version,
        created_by=user.id, as_of=dt.date.fromisoformat(result["as_of"]),
        variant=result.get("variant"), law_version=result["law_version"],
        engine_version=result["engine_version"], pathway=result["pathway"],
        facts_enc=c.facts_enc if cipher.is_current(c.facts_enc)
        else cipher.encrypt(cipher.decrypt(c.facts_enc)),
        result_enc=cipher.encrypt(result))
    s.add(d)
    s.flush()
    audit.append(s, user, "determination.create", c.public_id, determination=d.public_id,
                 version=c.version)
    return _determination(d, cipher, with_case=case_id)


def _determination(d: DeterminationRecord, cipher: Cipher, *, with_case: str
                   ) -> dict[str, Any]:
    return {"id": d.public_id, "case_id": with_case, "case_version": d.case_version,
            "created_at": d.created_at.isoformat() + "Z", "as_of": d.as_of.isoformat(),
            "variant": d.variant, "law_version": d.law_version,
            "engine_version": d.engine_version, "pathway": d.pathway,
            "facts": cipher.decrypt(d.facts_enc), "determination": cipher.decrypt(d.result_enc)}


def determinations(s: Session, cipher: Cipher, user: User, case_id: str, *, offset: int = 0,
                   limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    require(user, "read")
    c = _row(s, user, case_id)
    q = select(DeterminationRecord).where(DeterminationRecord.case_id == c.id)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.scalars(q.order_by(DeterminationRecord.id.desc()).offset(offset).limit(limit))
    audit.append(s, user, "determination.list", c.public_id)
    return [_determination(d, cipher, with_case=case_id) for d in rows], total


def reencrypt(s: Session, cipher: Cipher) -> int:
    """Rewrite every encrypted value under the first key (key rotation); returns how many.
    Core UPDATEs: a rotation changes ciphertext only, so it must not bump a case's version
    (which would refuse a screener's save) nor touch what the immutability trigger guards."""
    n = 0
    for model, cols in ((Case, ("label_enc", "facts_enc", "interview_enc")),
                        (FactChange, ("old_enc", "new_enc")),
                        (DeterminationRecord, ("facts_enc", "result_enc"))):
        table = model.__table__
        for row in s.execute(select(table.c.id, *(table.c[c] for c in cols))).all():
            stale = {c: cipher.rotate(row[i + 1]) for i, c in enumerate(cols)
                     if row[i + 1] is not None and not cipher.is_current(row[i + 1])}
            if stale:
                s.execute(sql_update(table).where(table.c.id == row[0]).values(**stale))
                n += len(stale)
    audit.append(s, None, "store.reencrypt", values=n)
    return n
