"""`safethird users`, `audit verify` and `store` end to end, as subprocesses on an SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def run(db: Path, *args: str, stdin: str = "", keys: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["SAFETHIRD_DATABASE_URL"] = f"sqlite:///{db}"
    env.pop("SAFETHIRD_FACT_KEYS", None)
    if keys:
        env["SAFETHIRD_FACT_KEYS"] = keys
    return subprocess.run([sys.executable, "-m", "safethird.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


def test_users_add_list_disable_and_the_audit_chain(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    p = run(db, "users", "add", "Ana@Example.org", "--org", "Legal Aid A", "--role", "admin",
            "--password-stdin", stdin="a long enough password\n")
    assert p.returncode == 0, p.stderr
    assert "added ana@example.org (admin, organisation Legal Aid A)" in p.stdout
    p = run(db, "users", "add", "ana@example.org", "--org", "Legal Aid A",
            "--password-stdin", stdin="a long enough password\n")
    assert p.returncode == 2 and p.stderr.strip() == \
        "safethird: a user ana@example.org already exists" and "Traceback" not in p.stderr
    p = run(db, "users", "add", "b@example.org", "--org", "X", "--password-stdin",
            stdin="short\n")
    assert p.returncode == 2 and "at least 10 characters" in p.stderr
    p = run(db, "users", "token", "ana@example.org")
    assert p.returncode == 0 and p.stdout.startswith("st_")
    assert run(db, "users", "disable", "ana@example.org").returncode == 0
    p = run(db, "users", "list")
    assert p.stdout.splitlines() == ["ana@example.org\tLegal Aid A\tadmin\tdisabled"]
    p = run(db, "audit", "verify")
    assert p.returncode == 0 and p.stdout.startswith("ok: 3 audit entries, chain intact")

    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET action = 'token.revoke' WHERE seq = 2")
    con.commit()
    con.close()
    p = run(db, "audit", "verify")
    assert p.returncode == 1
    assert p.stdout.strip() == ("BROKEN at audit entry 2: its content does not match its hash "
                                "(the row was altered)")


def test_store_reencrypt_without_a_key_is_a_one_line_error(tmp_path: Path) -> None:
    p = run(tmp_path / "w.db", "store", "reencrypt")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "no encryption key for case facts: set SAFETHIRD_FACT_KEYS" in p.stderr
    p = run(tmp_path / "w.db", "store", "reencrypt", keys="not-a-key")
    assert p.returncode == 2 and "not a list of Fernet keys" in p.stderr
    p = run(tmp_path / "w.db", "store", "reencrypt", keys=Fernet.generate_key().decode())
    assert p.returncode == 0 and "re-encrypted 0 values" in p.stdout


def test_an_unusable_database_url_is_a_one_line_error(tmp_path: Path) -> None:
    env_db = tmp_path / "missing-dir" / "w.db"
    p = run(env_db, "users", "list")
    assert p.returncode == 2 and "the database cannot be opened" in p.stderr
    assert "Traceback" not in p.stderr
