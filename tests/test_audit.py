from __future__ import annotations

import itertools

import pytest

from terminal_app.core.audit import AuditDetailRefused, AuditLog


@pytest.fixture
def log(kiosk):
    audit = kiosk.audit
    for i in range(5):
        audit.append("step", session=f"s{i}", step_to="form")
    return audit


def test_intact_chain_verifies(log):
    assert log.verify() == []
    records = log.records()
    assert all(r["prev"] == p["mac"] for p, r in itertools.pairwise(records))


def test_edited_record_is_found(log, kiosk):
    kiosk.vault.db.execute("UPDATE audit SET event = 'login' WHERE seq = 3")
    problems = log.verify()
    assert [(p.seq, p.problem) for p in problems] == [(3, "content was changed after it was written")]


def test_deleted_record_is_found(log, kiosk):
    kiosk.vault.db.execute("DELETE FROM audit WHERE seq = 2")
    problems = log.verify()
    assert any("missing" in p.problem for p in problems)
    assert any(p.seq == 3 and "link" in p.problem for p in problems)


def test_cut_off_tail_is_found(log, kiosk):
    kiosk.vault.db.execute("DELETE FROM audit WHERE seq >= 5")
    assert any("written up to" in p.problem for p in log.verify())


def test_forged_head_is_found(log, kiosk):
    last = log.records()[-2]
    kiosk.vault.db.execute("DELETE FROM audit WHERE seq = ?", [last["seq"] + 1])
    kiosk.vault.db.execute("UPDATE audit_head SET seq = ?, mac = ?", [last["seq"], last["mac"]])
    assert any("head record was changed" in p.problem for p in log.verify())


def test_recomputed_plain_hash_chain_does_not_pass(log, kiosk):
    # Someone with the database but not the key recomputes an unkeyed chain: still caught.
    import hashlib

    kiosk.vault.db.execute("UPDATE audit SET actor = 'x', mac = ? WHERE seq = 1", [hashlib.sha256(b"x").hexdigest()])
    assert log.verify()


@pytest.mark.parametrize(
    "details",
    [
        {"name": "张三"},
        {"id_number": "422801199003070011"},
        {"phone": "13800000000"},
        {"phone": 13800000000},
        {"note": "a long free text with spaces"},
        {"blob": {"nested": 1}},
    ],
)
def test_personal_data_cannot_be_logged(log, details):
    with pytest.raises(AuditDetailRefused):
        log.append("step", **details)
    assert log.verify() == []


def test_uuids_are_logged_even_when_a_group_is_all_digits(log):
    log.append("submitted", application="0d8f1c2e-1a2b-4c3d-8e4f-123456789012")
    assert log.verify() == []


def test_cli_verify_reports_tampering(tmp_path):
    import subprocess
    import sys

    from terminal_app.core.kiosk import Kiosk

    kiosk = Kiosk.start(None, tmp_path)
    AuditLog(kiosk.vault).append("step", session="s1")
    kiosk.vault.db.execute("UPDATE audit SET ts = ts + 1 WHERE seq = 2")
    kiosk.close()
    result = subprocess.run(
        [sys.executable, "-m", "terminal_app", "--data-dir", str(tmp_path), "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "record 2: content was changed" in result.stderr
