"""The case store on SQLite and PostgreSQL: migrations, encryption at rest, optimistic locking,
organisations and roles, fact history, immutable determinations, deletion, the audit chain
(broken on purpose and detected), lock-out, key rotation and API tokens."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.exc import DBAPIError

from safethird import decide
from safethird.store import Conflict, Forbidden, NotFound, Store, StoreError, accounts, audit, cases
from safethird.store.errors import Unauthorized
from workspace_fixtures import KEYS

PASSWORD = "correct horse battery"
FACTS = {"id": "t-1", "nationalities": ["HN"], "arrival": {"date": "2019-12-01",
         "border": "southern_land", "state": "TX"},
         "route": [{"country": "GT"}, {"country": "MX"}], "fear_claimed": True}


def _user(store: Store, email: str = "a@a.org", org: str = "Org A", role: str = "screener"):
    with store.session() as s:
        return accounts.add_user(s, email, PASSWORD, org=org, role=role)


def _new_case(store: Store, user, facts=FACTS, label="Ms. Example"):
    with store.session() as s:
        return cases.create(s, store.cipher, user, facts, label)


def _raw(store: Store, sql: str, **params):
    with store.engine.begin() as c:
        result = c.execute(sa.text(sql), params)
        return result.all() if result.returns_rows else []


def test_migrations_run_on_start_and_again_as_a_no_op(db_url: str) -> None:
    Store(db_url, keys=KEYS).dispose()
    again = Store(db_url, keys=KEYS)
    assert _raw(again, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert {"cases", "audit_log", "determinations", "fact_changes", "users", "organisations",
            "api_tokens"} <= set(sa.inspect(again.engine).get_table_names())
    again.dispose()


def test_a_case_round_trips_and_its_facts_and_label_are_encrypted_at_rest(store: Store) -> None:
    user = _user(store)
    c = _new_case(store, user)
    with store.session() as s:
        back = cases.read(s, store.cipher, user, c.id)
    assert back.facts["nationalities"] == ["HN"] and back.label == "Ms. Example"
    assert back.version == 1
    (label, facts), = _raw(store, "SELECT label_enc, facts_enc FROM cases")
    for blob in (bytes(label), bytes(facts)):
        # no plaintext (longer strings than base64 noise could produce by chance)
        assert b"nationalities" not in blob and b"2019-12-01" not in blob
        assert b"Example" not in blob and blob.startswith(b"gAAAAA")  # a Fernet token
    values = _raw(store, "SELECT old_enc, new_enc FROM fact_changes")
    assert values and all(b"2019-12-01" not in bytes(v) for row in values for v in row)


def test_facts_are_validated_and_the_error_names_the_field(store: Store) -> None:
    user = _user(store)
    with pytest.raises(StoreError) as e:
        _new_case(store, user, {"arrival": {"date": "1 Dec 2019"}})
    assert e.value.field == "facts.arrival.date"
    with pytest.raises(StoreError) as e:
        _new_case(store, user, {"colour": "blue"})
    assert e.value.field == "facts.colour"


def test_the_second_of_two_writers_is_refused_and_no_update_is_lost(store: Store) -> None:
    alice, bob = _user(store), _user(store, "b@a.org")
    c = _new_case(store, alice)
    with store.session() as s:
        bobs_copy = cases.read(s, store.cipher, bob, c.id)
    with store.session() as s:
        cases.update(s, store.cipher, alice, c.id, version=c.version,
                     facts=FACTS | {"trafficking_victim": False})
    with pytest.raises(Conflict) as e, store.session() as s:
        cases.update(s, store.cipher, bob, c.id, version=bobs_copy.version,
                     facts=FACTS | {"family_unit": True})
    assert "changed by someone else" in e.value.message and e.value.status == 409
    with store.session() as s:
        now = cases.read(s, store.cipher, alice, c.id)
    assert now.version == 2
    assert now.facts["trafficking_victim"] is False and "family_unit" not in now.facts


def test_a_lost_race_at_the_database_is_refused_too(store: Store) -> None:
    # the version check in Python passed in both writers; the UPDATE ... WHERE version = 1 of
    # the second matches no row, and SQLAlchemy refuses it (the version_id_col)
    from sqlalchemy.orm.exc import StaleDataError

    from safethird.store.models import Case

    user = _user(store)
    c = _new_case(store, user)
    with pytest.raises(StaleDataError), store.session() as s:
        row = s.scalar(sa.select(Case).where(Case.public_id == c.id))
        t = Case.__table__
        # another writer, in effect, committed meanwhile (Core: the ORM does not see it)
        s.execute(sa.update(t).where(t.c.id == row.id).values(version=t.c.version + 1))
        row.label_enc = store.cipher.encrypt("changed")
        s.flush()


def test_a_user_sees_only_their_organisations_cases(store: Store) -> None:
    a, b = _user(store), _user(store, "b@b.org", org="Org B")
    c = _new_case(store, a)
    _new_case(store, b, {"nationalities": ["SV"]}, "B's case")
    with store.session() as s:
        with pytest.raises(NotFound):
            cases.read(s, store.cipher, b, c.id)
        with pytest.raises(NotFound):
            cases.update(s, store.cipher, b, c.id, version=1, facts={})
        with pytest.raises(NotFound):
            cases.remove(s, b, c.id)
        listed, total = cases.listing(s, store.cipher, b)
    assert total == 1 and [v.label for v in listed] == ["B's case"]


def test_a_nul_character_finds_nothing_on_either_database(store: Store) -> None:
    """PostgreSQL refuses NUL in any text, even to compare it: a case id, e-mail or organisation
    name holding one is "not found" or refused, never a database error."""
    a = _user(store)
    c = _new_case(store, a)
    nul_id = c.id[:5] + "\x00" + c.id[5:]
    with store.session() as s:
        for call in (lambda: cases.read(s, store.cipher, a, nul_id),
                     lambda: cases.update(s, store.cipher, a, nul_id, version=1, facts={}),
                     lambda: cases.history(s, store.cipher, a, nul_id),
                     lambda: cases.remove(s, a, nul_id)):
            with pytest.raises(NotFound):
                call()
        assert accounts.login(s, "a@a.org\x00", PASSWORD).user is None
        with pytest.raises(StoreError, match="no user"):
            accounts.user_by_email(s, "a\x00@a.org")
        with pytest.raises(StoreError, match="no organisation"):
            accounts.organisation(s, "Org A\x00")
    for email, org, field in (("x\x00@a.org", "Org A", "email"), ("y@a.org", "Org\x00 C", "org"),
                              ("z" * 320 + "@a.org", "Org A", "email"),
                              ("w@a.org", "O" * 201, "org")):
        with pytest.raises(StoreError) as refused:
            _user(store, email, org=org)
        assert refused.value.field == field
    with store.session() as s:
        assert cases.read(s, store.cipher, a, c.id).id == c.id  # the store is still sound


def test_roles_viewer_reads_screener_writes(store: Store) -> None:
    screener = _user(store)
    viewer = _user(store, "v@a.org", role="viewer")
    c = _new_case(store, screener)
    with store.session() as s:
        assert cases.read(s, store.cipher, viewer, c.id).id == c.id
    with pytest.raises(Forbidden), store.session() as s:
        cases.create(s, store.cipher, viewer, {}, "")
    with pytest.raises(Forbidden), store.session() as s:
        cases.update(s, store.cipher, viewer, c.id, version=1, facts={})
    with pytest.raises(StoreError):
        _user(store, "x@a.org", role="superuser")


def test_fact_history_says_who_changed_what_from_what_to_what(store: Store) -> None:
    alice, bob = _user(store), _user(store, "b@a.org")
    c = _new_case(store, alice)
    changed = FACTS | {"route": [{"country": "GT"}, {"country": "MX",
                                                     "protection_claim": "denied_final"}]}
    with store.session() as s:
        cases.update(s, store.cipher, bob, c.id, version=1, facts=changed)
        h = cases.history(s, store.cipher, alice, c.id)
    last = [e for e in h if e["version"] == 2]
    assert last == [{"at": last[0]["at"], "by": "b@a.org", "version": 2,
                     "fact": "route[1].protection_claim", "from": None, "to": "denied_final"}]
    assert {e["fact"] for e in h if e["version"] == 1} >= {"nationalities", "arrival.date",
                                                          "route[0].country"}


def _determine(store: Store, user, case_id: str) -> dict:
    with store.session() as s:
        view = cases.read(s, store.cipher, user, case_id)
        result = decide(view.facts, as_of="2019-12-02").to_dict()
        return cases.record_determination(s, store.cipher, user, case_id, result,
                                          version=view.version)


def test_a_determination_is_stored_with_its_facts_and_versions_and_is_immutable(
        store: Store) -> None:
    user = _user(store)
    c = _new_case(store, user)
    d = _determine(store, user, c.id)
    assert d["facts"] == cases.canonical_facts(FACTS) and d["as_of"] == "2019-12-02"
    assert d["law_version"] == d["determination"]["law_version"] and d["engine_version"]
    assert d["pathway"] == d["determination"]["pathway"] and d["case_version"] == 1
    with pytest.raises(DBAPIError, match="immutable"):
        _raw(store, "UPDATE determinations SET pathway = 'aca_transfer'")
    with store.session() as s:
        cases.update(s, store.cipher, user, c.id, version=1, facts={"nationalities": ["SV"]})
        ds, total = cases.determinations(s, store.cipher, user, c.id)
    assert total == 1 and ds[0]["facts"]["nationalities"] == ["HN"]  # as it was decided


def test_deleting_a_case_removes_its_facts_and_keeps_the_audit_entry(store: Store) -> None:
    user = _user(store)
    c = _new_case(store, user)
    _determine(store, user, c.id)
    with store.session() as s:
        cases.remove(s, user, c.id)
    for table in ("cases", "fact_changes", "determinations"):
        assert _raw(store, f"SELECT count(*) FROM {table}") == [(0,)]
    entries = _raw(store, "SELECT action, detail FROM audit_log WHERE case_public_id = :c",
                   c=c.id)
    assert entries[-1][0] == "case.delete"
    assert all("HN" not in detail for _, detail in entries)  # the log holds no facts
    with store.session() as s:
        assert audit.verify(s).ok
        with pytest.raises(NotFound):
            cases.read(s, store.cipher, user, c.id)


def test_every_read_and_write_of_a_case_is_in_the_audit_log(store: Store) -> None:
    user = _user(store)
    c = _new_case(store, user)
    with store.session() as s:
        cases.read(s, store.cipher, user, c.id)
        cases.update(s, store.cipher, user, c.id, version=1, facts={"nationalities": ["SV"]})
        cases.history(s, store.cipher, user, c.id)
    rows = _raw(store, "SELECT actor, action FROM audit_log WHERE case_public_id = :c "
                       "ORDER BY seq", c=c.id)
    assert rows == [("a@a.org", "case.create"), ("a@a.org", "case.read"),
                    ("a@a.org", "case.update"), ("a@a.org", "case.history")]


def _disable_audit_triggers(store: Store) -> None:
    if store.engine.dialect.name == "sqlite":
        _raw(store, "DROP TRIGGER audit_log_no_update")
        _raw(store, "DROP TRIGGER audit_log_no_delete")
    else:
        _raw(store, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")


def _chain(store: Store, n: int = 3) -> None:
    user = _user(store)
    c = _new_case(store, user)
    with store.session() as s:
        for _ in range(n):
            cases.read(s, store.cipher, user, c.id)


def test_the_audit_log_refuses_updates_and_deletes(store: Store) -> None:
    _chain(store)
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(store, "UPDATE audit_log SET actor = 'someone' WHERE seq = 2")
    with pytest.raises(DBAPIError, match="append-only"):
        _raw(store, "DELETE FROM audit_log WHERE seq = 2")


def test_an_altered_audit_entry_is_detected_at_its_place(store: Store) -> None:
    _chain(store)
    with store.session() as s:
        before = audit.verify(s)
    assert before.ok and before.entries == 5
    _disable_audit_triggers(store)
    _raw(store, "UPDATE audit_log SET actor = 'someone.else@a.org' WHERE seq = 3")
    with store.session() as s:
        result = audit.verify(s)
    assert not result.ok and result.broken_at == 3 and "altered" in result.problem


def test_a_removed_audit_entry_is_detected(store: Store) -> None:
    _chain(store)
    _disable_audit_triggers(store)
    _raw(store, "DELETE FROM audit_log WHERE seq = 4")
    with store.session() as s:
        result = audit.verify(s)
    assert (result.ok, result.broken_at) == (False, 4) and "removed" in result.problem


def test_a_rehashed_forgery_breaks_the_next_link(store: Store) -> None:
    # the forger recomputes the altered entry's own hash; the next entry still names the old one
    from safethird.store.audit import entry_hash
    from safethird.store.models import AuditEntry

    _chain(store)
    _disable_audit_triggers(store)
    with store.session() as s:
        e = s.get(AuditEntry, 2)
        e.actor = "forger@a.org"
        e.hash = entry_hash(e)
    with store.session() as s:
        result = audit.verify(s)
    assert (result.ok, result.broken_at) == (False, 3) and "link" in result.problem


def test_lock_out_after_repeated_failed_logins(store: Store) -> None:
    _user(store)
    t0 = dt.datetime(2026, 1, 1, 12, 0)
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with store.session() as s:
            attempt = accounts.login(s, "a@a.org", "wrong password!", now=t0)
        assert attempt.user is None and "wrong e-mail or password" in attempt.refusal
    with store.session() as s:
        attempt = accounts.login(s, "a@a.org", PASSWORD, now=t0 + dt.timedelta(minutes=1))
    assert attempt.user is None and "locked until 12:15 UTC" in attempt.refusal
    with store.session() as s:
        later = t0 + dt.timedelta(minutes=accounts.LOCK_MINUTES + 1)
        assert accounts.login(s, "A@a.org", PASSWORD, now=later).user.email == "a@a.org"
    with store.session() as s:
        assert accounts.login(s, "nobody@a.org", PASSWORD).user is None
    actions = [a for (a,) in _raw(store, "SELECT action FROM audit_log ORDER BY seq")]
    assert actions.count("user.locked") == 1


def test_key_rotation_reencrypts_everything_under_the_new_key(db_url: str) -> None:
    old = Store(db_url, keys=KEYS)
    user = _user(old)
    c = _new_case(old, user)
    _determine(old, user, c.id)
    old.dispose()
    new_key = Fernet.generate_key().decode()
    both = Store(db_url, keys=[new_key, *KEYS])
    with both.session() as s:
        n = cases.reencrypt(s, both.cipher)
    assert n > 4
    both.dispose()
    only_new = Store(db_url, keys=[new_key])
    with only_new.session() as s:
        view = cases.read(s, only_new.cipher, user, c.id)
        ds, _ = cases.determinations(s, only_new.cipher, user, c.id)
    assert view.facts["nationalities"] == ["HN"] and view.version == 1  # no version bump
    assert ds[0]["determination"]["pathway"]
    only_new.dispose()
    only_old = Store(db_url, keys=KEYS)
    with pytest.raises(StoreError, match="cannot be decrypted"), only_old.session() as s:
        cases.read(s, only_old.cipher, user, c.id)
    only_old.dispose()


def test_api_tokens_are_stored_as_hashes_and_die_with_the_account(store: Store) -> None:
    user = _user(store)
    with store.session() as s:
        token = accounts.new_token(s, user)
    assert token.startswith("st_") and len(token) > 40
    assert all(token not in str(row) for row in _raw(store, "SELECT * FROM api_tokens"))
    with store.session() as s:
        assert accounts.user_for_token(s, token).email == "a@a.org"
        with pytest.raises(Unauthorized):
            accounts.user_for_token(s, token + "x")
        accounts.disable_user(s, "a@a.org")
    with pytest.raises(Unauthorized), store.session() as s:
        accounts.user_for_token(s, token)


SECRET_FACTS = {"id": "zq-person-4471", "nationalities": ["HN"], "birth_date": "1987-03-29",
                "arrival": {"date": "2019-11-27", "border": "southern_land", "state": "TX"},
                "route": [{"country": "GT", "entered": "2019-10-03"}, {"country": "MX"}],
                "fear_claimed": True, "fear_of_receiving_country": {"GT": True}}
SECRET_LABEL = "Rosa Quintanilla Ybarra"
# what the case says, as text could hold it: in JSON, as a fact path, as it was typed
NEEDLES = ("zq-person-4471", "1987-03-29", "2019-11-27", "2019-10-03", "Quintanilla",
           '"GT"', ".GT", '"HN"', '"MX"', ".MX")


def _every_row(store: Store) -> list[tuple[str, list]]:
    """Every row of every table, raw (bytes as they are stored)."""
    out = []
    with store.engine.connect() as c:
        for table in sa.inspect(store.engine).get_table_names():
            out += [(table, list(row)) for row in c.execute(sa.text(f"SELECT * FROM {table}"))]
    return out


def _as_text(value) -> str:
    return bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) \
        else str(value)


def _decrypted(store: Store, value):
    """What a stored value decrypts to under the store's keys (None: not a ciphertext)."""
    if not isinstance(value, bytes | memoryview):
        return None
    try:
        return store.cipher.decrypt(bytes(value))
    except Exception:
        return None


def test_after_deletion_no_row_anywhere_holds_the_cases_facts(store: Store) -> None:
    """The raw tables, searched for the case's facts both in clear and under the keys: the
    only trace left is the audit log, which never held facts (checked before and after)."""
    user = _user(store)
    other = _new_case(store, user, {"nationalities": ["SV"]}, "control case")
    c = _new_case(store, user, SECRET_FACTS, SECRET_LABEL)
    with store.session() as s:
        changed = dict(SECRET_FACTS, fear_of_receiving_country={"GT": True, "MX": False})
        cases.update(s, store.cipher, user, c.id, version=1, facts=changed,
                     dont_know=["trafficking_victim"])
        cases.history(s, store.cipher, user, c.id)
    _determine(store, user, c.id)

    def holds_case(value) -> bool:
        plain = _decrypted(store, value)
        text = _as_text(value) if plain is None else json.dumps(plain)
        return any(n in text for n in NEEDLES)

    before = [(t, v) for t, row in _every_row(store) for v in row if holds_case(v)]
    # the search can fail: before deletion it finds the facts in the three tables that keep them
    assert {t for t, _ in before} == {"cases", "fact_changes", "determinations"}
    audit_rows = [row for t, row in _every_row(store) if t == "audit_log"]
    assert audit_rows and not any(any(n in _as_text(v) for n in NEEDLES)
                                  for row in audit_rows for v in row)
    with store.session() as s:
        cases.remove(s, user, c.id)
    after = [(t, v) for t, row in _every_row(store) for v in row if holds_case(v)]
    assert after == []
    # what still decrypts is the control case's alone
    left = [_decrypted(store, v) for _, row in _every_row(store) for v in row]
    assert {json.dumps(x, sort_keys=True) for x in left if x is not None} >= {
        json.dumps({"nationalities": ["SV"]})} and SECRET_LABEL not in json.dumps(left)
    entries = _raw(store, "SELECT action FROM audit_log WHERE case_public_id = :c", c=c.id)
    assert entries[-1] == ("case.delete",) and len(entries) >= 5
    with store.session() as s:
        assert audit.verify(s).ok
        assert cases.read(s, store.cipher, user, other.id).facts == {"nationalities": ["SV"]}


def test_a_deleted_case_leaves_no_ciphertext_in_the_sqlite_file(tmp_path) -> None:
    """SQLite's freed pages are overwritten (secure_delete): once the write-ahead log is
    checkpointed, the file holds none of the deleted case's encrypted bytes."""
    path = tmp_path / "s.db"
    store = Store(f"sqlite:///{path}", keys=KEYS)
    user = _user(store)
    c = _new_case(store, user, SECRET_FACTS, SECRET_LABEL)
    _determine(store, user, c.id)
    blobs = [bytes(b) for row in _raw(store, "SELECT label_enc, facts_enc FROM cases")
             for b in row]
    blobs += [bytes(r[0]) for r in _raw(store, "SELECT result_enc FROM determinations")]

    def on_disk() -> bytes:
        conn = store.engine.raw_connection()  # outside a transaction (SQLite's rule)
        try:
            conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
        return path.read_bytes()

    assert all(b[:40] in on_disk() for b in blobs)  # the search can fail
    with store.session() as s:
        cases.remove(s, user, c.id)
    disk = on_disk()
    assert not any(b[:40] in disk for b in blobs)
    store.dispose()
