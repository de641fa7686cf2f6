from __future__ import annotations

import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.envelope import Receipt, WireError, open_sealed, parse, verify
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.vault import VaultError


def receipt_for(wire: bytes, key: ed25519.Ed25519PrivateKey, **changes) -> Receipt:
    envelope = parse(wire)
    fields = {
        "envelope_id": envelope.meta.envelope_id,
        "terminal_id": envelope.meta.terminal_id,
        "seq": envelope.meta.seq,
        "envelope_sha256": envelope.digest,
        "stored_at": "2026-11-25T10:00:00Z",
    }
    return Receipt(**{**fields, **changes}).signed_by(key)


def test_submit_seals_signs_and_numbers_envelopes_the_terminal_cannot_read(kiosk, central):
    first = kiosk.outbox.submit({"application_id": "a1", "name": "测试丁", "phone": "13700000000"})
    second = kiosk.outbox.submit({"application_id": "a2"})
    assert (first.seq, second.seq) == (1, 2) and first.terminal_id == kiosk.config.terminal.id
    queued = kiosk.outbox.pending()
    assert [q.envelope_id for q in queued] == [first.envelope_id, second.envelope_id]
    terminal_public = kiosk.outbox.signing_key.public_key()
    verify(parse(queued[0].wire), terminal_public)
    assert json.loads(open_sealed(parse(queued[0].wire), central.opening))["name"] == "测试丁"
    raw = b"".join(p.read_bytes() for p in kiosk.vault.data_dir.glob("vault.sqlite*"))
    assert "测试丁".encode() not in raw and b"13700000000" not in raw


def test_terminal_key_is_made_once_0600_and_kept(tmp_path, config_path):
    first = Kiosk.start(config_path, tmp_path / "d")
    key_file = tmp_path / "d" / "terminal_key.pem"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    public = first.outbox.signing_key.public_key().public_bytes_raw()
    first.close()
    again = Kiosk.start(config_path, tmp_path / "d")
    assert again.outbox.signing_key.public_key().public_bytes_raw() == public
    again.close()


def test_only_a_matching_signed_receipt_deletes_an_envelope(kiosk, central):
    kiosk.outbox.submit({"application_id": "a1"})
    (queued,) = kiosk.outbox.pending()
    keys = [central.signing.public_key()]
    impostor = ed25519.Ed25519PrivateKey.generate()
    refused = kiosk.outbox.acknowledge(
        [
            (queued, receipt_for(queued.wire, impostor)),
            (queued, receipt_for(queued.wire, central.signing, envelope_sha256="0" * 64)),
        ],
        keys,
    )
    assert [error.code for _, error in refused] == ["bad_signature", "receipt_mismatch"]
    assert kiosk.outbox.queued_ids() == [queued.envelope_id]
    assert kiosk.outbox.acknowledge([(queued, receipt_for(queued.wire, central.signing))], keys) == []
    assert kiosk.outbox.queued_ids() == [] and kiosk.outbox.delivered_ids() == [queued.envelope_id]


def test_sequence_numbers_are_never_reused_after_delivery(kiosk, central):
    kiosk.outbox.submit({"application_id": "a1"})
    (queued,) = kiosk.outbox.pending()
    kiosk.outbox.acknowledge([(queued, receipt_for(queued.wire, central.signing))], [central.signing.public_key()])
    assert kiosk.outbox.submit({"application_id": "a2"}).seq == 2


def test_held_envelopes_leave_the_queue_but_are_kept_and_can_be_released(kiosk):
    kiosk.outbox.submit({"application_id": "a1"})
    kiosk.outbox.submit({"application_id": "a2"})
    first = kiosk.outbox.pending()[0]
    kiosk.outbox.hold(first, "bad_signature", "refused by central")
    status = kiosk.outbox.status()
    assert status["queued"] == 1 and status["held"] == 1
    assert kiosk.outbox.release_held() == 1
    assert [q.seq for q in kiosk.outbox.pending()] == [1, 2]


def test_full_disk_at_submit_keeps_the_draft_and_queues_nothing(kiosk):
    kiosk.vault.save_draft("s1", "confirmation", {"x": 1})
    kiosk.outbox.submit({"application_id": "a0"})
    pages = kiosk.vault.db.execute("PRAGMA page_count").fetchone()[0]
    kiosk.vault.db.execute(f"PRAGMA max_page_count={pages}")  # the file cannot grow any more
    with pytest.raises(VaultError, match="disk is full"):
        kiosk.outbox.submit({"application_id": "a1", "blob": os.urandom(20_000).hex()}, drop_draft="s1")
    assert kiosk.vault.load_draft("s1") == ("confirmation", {"x": 1})
    assert [q.seq for q in kiosk.outbox.pending()] == [1] and kiosk.outbox.status()["last_seq"] == 1
    assert kiosk.vault.integrity_problems() == []


def test_status_reports_queue_age_and_the_last_error(kiosk, clock):
    kiosk.outbox.submit({"application_id": "a1"})
    clock.advance(3600)
    assert kiosk.outbox.record_attempt(WireError("unreachable", "connection refused")) == 1
    status = kiosk.status()["sync"]
    assert status["queued"] == 1 and status["oldest_age_s"] == 3600.0
    assert status["last_error"]["code"] == "unreachable" and status["consecutive_failures"] == 1
    assert kiosk.outbox.record_attempt() == 0
    assert kiosk.status()["sync"]["last_success_at"] is not None


def test_applications_left_by_schema_1_software_are_sealed_into_the_outbox(tmp_path, config_path, central):
    from terminal_app.core.vault import Vault

    vault = Vault(tmp_path / "d")
    nonce, ciphertext = vault._seal("applications", "old-1", {"application_id": "old-1", "amount": "8000"})
    vault.db["applications"].insert(
        {
            "application_id": "old-1",
            "session_id": "s",
            "created_at": 0.0,
            "status": "submitted",
            "nonce": nonce,
            "ciphertext": ciphertext,
        }
    )
    vault.close()
    kiosk = Kiosk.start(config_path, tmp_path / "d")
    assert central.open_outbox(kiosk) == {"old-1": {"application_id": "old-1", "amount": "8000"}}
    assert kiosk.vault.db["applications"].count == 0
    kiosk.close()
