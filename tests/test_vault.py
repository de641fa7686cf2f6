from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest

from terminal_app.core.data_key import DataKeyError, DecryptionError
from terminal_app.core.vault import SCHEMA_VERSION, Vault, VaultError


def test_data_key_is_created_0600_on_first_run_and_reused(tmp_path):
    vault = Vault(tmp_path)
    key_file = tmp_path / "data.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key = vault.key
    vault.close()
    assert Vault(tmp_path).key == key


def test_key_readable_by_others_is_refused(tmp_path):
    Vault(tmp_path).close()
    os.chmod(tmp_path / "data.key", 0o644)
    with pytest.raises(DataKeyError, match="0600"):
        Vault(tmp_path)


def test_truncated_key_is_refused(tmp_path):
    Vault(tmp_path).close()
    (tmp_path / "data.key").write_bytes(b"short")
    with pytest.raises(DataKeyError, match="5 bytes"):
        Vault(tmp_path)


def test_drafts_are_encrypted_at_rest_and_bound_to_their_row(tmp_path):
    vault = Vault(tmp_path)
    vault.save_draft("s1", "form", {"name": "测试丙", "phone": "13900000000"})
    vault.save_draft("s2", "form", {"name": "other"})
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("vault.sqlite*"))
    assert "测试丙".encode() not in raw and b"13900000000" not in raw
    assert vault.load_draft("s1") == ("form", {"name": "测试丙", "phone": "13900000000"})
    # moving one row's ciphertext onto another row does not decrypt
    row = vault.db["drafts"].get("s2")
    vault.db.execute(
        "UPDATE drafts SET nonce = ?, ciphertext = ? WHERE session_id = 's1'", [row["nonce"], row["ciphertext"]]
    )
    with pytest.raises(DecryptionError):
        vault.load_draft("s1")


def test_flipped_bit_is_detected(tmp_path):
    vault = Vault(tmp_path)
    vault.save_draft("s1", "form", {"x": 1})
    row = vault.db["drafts"].get("s1")
    flipped = bytes([row["ciphertext"][0] ^ 1]) + row["ciphertext"][1:]
    vault.db.execute("UPDATE drafts SET ciphertext = ? WHERE session_id = 's1'", [flipped])
    with pytest.raises(DecryptionError, match="altered"):
        vault.load_draft("s1")


def test_another_terminals_key_cannot_read_the_vault(tmp_path):
    vault = Vault(tmp_path / "a")
    vault.save_draft("s1", "form", {"v": 1})
    vault.close()
    (tmp_path / "a" / "data.key").unlink()
    with pytest.raises(DecryptionError):
        Vault(tmp_path / "a").load_draft("s1")


def test_vault_runs_wal_and_full_sync(tmp_path):
    vault = Vault(tmp_path)
    assert vault.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert vault.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert vault.db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_migrations_run_once_and_record_the_version(tmp_path):
    vault = Vault(tmp_path)
    assert vault.schema_version == SCHEMA_VERSION
    tables = {"drafts", "agents", "agent_failures", "audit", "audit_head", "outbox", "held", "delivered", "sync_state"}
    assert tables <= set(vault.db.table_names())
    vault.save_draft("s1", "form", {"x": 1})
    vault.close()
    again = Vault(tmp_path)
    assert again.schema_version == SCHEMA_VERSION and again.draft_ids() == ["s1"]


def test_vault_from_newer_software_is_refused(tmp_path):
    vault = Vault(tmp_path)
    vault.db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    vault.close()
    with pytest.raises(VaultError, match="newer"):
        Vault(tmp_path)


def test_corrupt_vault_file_gives_a_clear_error(tmp_path):
    (tmp_path / "vault.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(VaultError, match="cannot open the vault"):
        Vault(tmp_path)


def test_full_disk_raises_and_loses_nothing_committed(tmp_path):
    vault = Vault(tmp_path)
    vault.save_draft("kept", "form", {"x": "y" * 100})
    pages = vault.db.execute("PRAGMA page_count").fetchone()[0]
    vault.db.execute(f"PRAGMA max_page_count={pages + 2}")  # the file cannot grow any more
    with pytest.raises(VaultError, match="disk is full"):
        for i in range(50):
            vault.save_draft(f"s{i}", "form", {"blob": os.urandom(4000).hex()})
    assert vault.load_draft("kept") == ("form", {"x": "y" * 100})
    assert vault.integrity_problems() == []
    # every draft that was stored is whole; none is half-written
    for session_id in vault.draft_ids():
        vault.load_draft(session_id)


def test_sqlite_error_other_than_full_is_not_hidden(tmp_path):
    vault = Vault(tmp_path)
    with pytest.raises(sqlite3.OperationalError), vault.transaction() as db:
        db.execute("SELECT * FROM no_such_table")


def test_a_write_waits_for_another_connections_writer_and_a_lock_held_too_long_is_a_vault_error(
    tmp_path, monkeypatch
):
    from terminal_app.core import vault as vault_module

    monkeypatch.setattr(vault_module, "BUSY_TIMEOUT_S", 1.0)
    vault = Vault(tmp_path)
    vault.save_draft("s1", "consent", {"a": 1})
    other = sqlite3.connect(tmp_path / "vault.sqlite", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the sync loop's connection, mid-write
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    vault.save_draft("s1", "id_capture", {"a": 2})  # read-then-write: waits instead of 'database is locked'
    assert time.monotonic() - started >= 0.25 and vault.load_draft("s1") == ("id_capture", {"a": 2})
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(VaultError, match="locked by another writer"):
        vault.save_draft("s1", "liveness", {"a": 3})
    other.execute("ROLLBACK")
    assert vault.load_draft("s1") == ("id_capture", {"a": 2})  # nothing half-written
