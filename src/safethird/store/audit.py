"""The append-only, hash-chained audit log of every read and write of a case.

Entry *n* stores the SHA-256 of entry *n − 1*; its own hash covers its sequence number, time,
actor, organisation, action, case and detail and that previous hash. Altering a row changes its
hash; removing one breaks the sequence or the link; `verify` reports the first break. (Removing
the newest entries leaves a shorter valid chain: keep a copy of the last hash elsewhere to
detect that — `safethird audit verify` prints it.)"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from safethird.store.models import AuditEntry, User

GENESIS = "0" * 64


def _digest(seq: int, at: str, user_id: int | None, actor: str, org_id: int | None,
            action: str, case: str | None, detail: str, prev_hash: str) -> str:
    body = json.dumps([seq, at, user_id, actor, org_id, action, case, detail, prev_hash],
                      separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def entry_hash(e: AuditEntry) -> str:
    return _digest(e.seq, e.at, e.user_id, e.actor, e.org_id, e.action, e.case_public_id,
                   e.detail, e.prev_hash)


def append(s: Session, user: User | None, action: str, case: str | None = None, /,
           **detail: Any) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the write
    it records). ``detail`` must hold no personal data: fact paths, versions, counts."""
    if s.get_bind().dialect.name == "postgresql":
        # one appender at a time until commit; SQLite's BEGIN IMMEDIATE already serializes
        s.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    last = s.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc())
                     .limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    actor = user.email if user else "system"
    body = json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
    e = AuditEntry(seq=seq, at=at, user_id=user.id if user else None, actor=actor,
                   org_id=user.org_id if user else None, action=action, case_public_id=case,
                   detail=body, prev_hash=prev)
    e.hash = entry_hash(e)
    s.add(e)
    s.flush()
    return e


@dataclass
class Verification:
    ok: bool
    entries: int
    last_hash: str
    broken_at: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return (f"ok: {self.entries} audit entries, chain intact; last hash "
                    f"{self.last_hash}")
        return f"BROKEN at audit entry {self.broken_at}: {self.problem}"


def verify(s: Session, batch: int = 5000) -> Verification:
    """Walk the chain from the first entry; stop at the first broken link."""
    expected_seq, prev, count, last_seq = 1, GENESIS, 0, 0
    while True:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.seq > last_seq)
                         .order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return Verification(True, count, prev)
        for e in rows:
            if e.seq != expected_seq:
                return Verification(False, count, prev, expected_seq,
                                    f"missing: the next entry found is {e.seq} (entries "
                                    f"{expected_seq}–{e.seq - 1} were removed)")
            if e.prev_hash != prev:
                return Verification(False, count, prev, e.seq,
                                    "its link to the previous entry does not match that "
                                    "entry's hash (the previous entry was altered or replaced)")
            if entry_hash(e) != e.hash:
                return Verification(False, count, prev, e.seq,
                                    "its content does not match its hash (the row was altered)")
            prev, expected_seq, count, last_seq = e.hash, e.seq + 1, count + 1, e.seq
