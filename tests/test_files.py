"""Files the terminal and the central service write: under a name nobody can plant a link at,
owner-only, whole or not at all; the central SQLite store owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sync.bundle import write_receipts
from sync.central.store import CentralStore
from sync.files import write_atomically


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_link_planted_where_the_temporary_file_used_to_go_is_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("someone else's file")
    receipts = tmp_path / "bundle.receipts"
    (tmp_path / "bundle.receipts.partial").symlink_to(victim)  # the name it was written under before
    write_receipts(receipts, [{"status": "stored"}])
    assert victim.read_text() == "someone else's file"
    assert receipts.read_bytes().startswith(b'{"count":1') and mode(receipts) == 0o600
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["bundle.receipts", "bundle.receipts.partial", "victim"]  # no temporary file left behind


def test_a_link_at_the_final_name_is_replaced_not_followed_and_a_failed_write_leaves_nothing(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    out = tmp_path / "update.bin"
    out.symlink_to(victim)
    write_atomically(out, [b"new"])
    assert victim.read_text() == "keep" and not out.is_symlink() and out.read_bytes() == b"new"

    def broken():
        yield b"half"
        raise OSError("the stick was pulled")

    with pytest.raises(OSError):
        write_atomically(out, broken())
    assert out.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["update.bin", "victim"]


def test_the_central_sqlite_store_is_owner_only_new_or_old(tmp_path):
    fresh = tmp_path / "central.sqlite"
    store = CentralStore(str(fresh))
    store.envelope_count()
    store.close()
    assert mode(fresh) == 0o600
    wal = fresh.with_name(fresh.name + "-wal")
    assert not wal.exists() or mode(wal) == 0o600
    fresh.chmod(0o644)  # made by an older version
    CentralStore(str(fresh)).close()
    assert mode(fresh) == 0o600


def test_the_terminals_data_directory_and_vault_are_owner_only_new_or_left_wider_by_an_older_version(tmp_path):
    from terminal_app.core.vault import Vault

    fresh = tmp_path / "fresh"
    Vault(fresh).close()
    assert mode(fresh) == 0o700 and mode(fresh / "vault.sqlite") == 0o600 and mode(fresh / "data.key") == 0o600
    old = tmp_path / "old"
    Vault(old).close()
    old.chmod(0o755)
    (old / "vault.sqlite").chmod(0o644)
    vault = Vault(old)  # what an older version left
    vault.save_draft("s", "consent", {"a": 1})
    vault.close()
    assert mode(old) == 0o700 and mode(old / "vault.sqlite") == 0o600
    assert not (old / "vault.sqlite-wal").exists() or mode(old / "vault.sqlite-wal") == 0o600
