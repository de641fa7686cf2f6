"""No network at all: the outbox goes to the central service as a bundle file on a USB stick and
the receipts come back the same way — with the same checks and idempotency as over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sync.central.errors import CentralError
from sync.central.ingest import IngestService
from sync.central.store import CentralStore
from sync.envelope import WireError
from terminal_app.core.kiosk import Kiosk
from tests.servers import ROOT
from tests.test_sync import assert_exactly_once, outbox_wires, queue

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

TERMINAL = "T-422801-0001"


def central_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync.central_cli", *args], cwd=ROOT, capture_output=True, text=True)


def kiosk_cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "terminal_app",
        "--config",
        str(tmp_path / "k.toml"),
        "--data-dir",
        str(tmp_path / "t"),
        *args,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


@pytest.fixture
def enrolled(tmp_path, central, central_db):
    """An enrolled terminal that never had a network: enrollment done in the office, by hand."""
    from tests.test_central import Terminal

    kiosk = Kiosk.start(central.write_config(tmp_path / "k.toml"), tmp_path / "t")
    service = IngestService(CentralStore(central_db), central.signing)
    terminal = Terminal(central, TERMINAL)
    terminal.key = kiosk.outbox.signing_key
    terminal.enroll(service, service.terminals.issue_code(TERMINAL))
    yield kiosk, service
    service.store.close()
    kiosk.close()


@pytest.mark.slow
def test_usb_round_trip_delivers_each_envelope_once_even_if_imported_twice(
    enrolled, tmp_path, central_db, central_key_file
):
    kiosk, _ = enrolled
    sent = queue(kiosk, 12)
    stick = tmp_path / "stick.bundle"
    exported = kiosk_cli(tmp_path, "bundle", "export", str(stick))
    assert exported.returncode == 0 and json.loads(exported.stdout)["envelopes"] == 12
    first = central_cli("bundle", "import", "--db", central_db, "--signing-key", str(central_key_file), str(stick))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["stored"] == 12
    again = central_cli("bundle", "import", "--db", central_db, "--signing-key", str(central_key_file), str(stick))
    assert json.loads(again.stdout)["duplicate"] == 12  # the same stick twice: nothing stored twice
    applied = kiosk_cli(tmp_path, "bundle", "receipts", str(tmp_path / "stick.bundle.receipts"))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["acknowledged"] == 12 and json.loads(applied.stdout)["still_queued"] == 0
    assert_exactly_once(kiosk, central_db, sent)


def test_bundle_cut_short_is_refused_whole_and_the_terminal_keeps_everything(enrolled, tmp_path):
    kiosk, service = enrolled
    sent = queue(kiosk, 5)
    stick = tmp_path / "stick.bundle"
    kiosk.export_bundle(stick)
    data = stick.read_bytes()
    for cut in (len(data) // 3, len(data) - 10):
        stick.write_bytes(data[:cut])
        with pytest.raises(WireError) as refused:
            service.import_bundle(stick)
        assert refused.value.code == "truncated"
    assert service.store.envelope_count() == 0 and outbox_wires(kiosk) == sent


def test_bundle_with_an_envelope_removed_or_from_another_key_is_refused(enrolled, tmp_path, central):
    kiosk, service = enrolled
    queue(kiosk, 3)
    stick = tmp_path / "stick.bundle"
    kiosk.export_bundle(stick)
    lines = stick.read_bytes().split(b"\n")
    stick.write_bytes(b"\n".join(lines[1:]))  # the first envelope taken out
    with pytest.raises(WireError) as edited:
        service.import_bundle(stick)
    from sync.bundle import write_outbox_bundle
    from tests.test_central import Terminal

    write_outbox_bundle(stick, TERMINAL, [], Terminal(central, TERMINAL).key)  # signed by another key
    with pytest.raises(WireError) as forged:
        service.import_bundle(stick)
    assert (edited.value.code, forged.value.code) == ("truncated", "bad_signature")


def test_bundle_from_a_revoked_terminal_is_refused(enrolled, tmp_path):
    kiosk, service = enrolled
    queue(kiosk, 1)
    kiosk.export_bundle(tmp_path / "b")
    service.terminals.revoke(TERMINAL)
    with pytest.raises(CentralError) as refused:
        service.import_bundle(tmp_path / "b")
    assert refused.value.code == "terminal_revoked"


def test_forged_receipts_file_deletes_nothing(enrolled, tmp_path, central_db):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sync.bundle import write_receipts
    from sync.envelope import Receipt, parse

    kiosk, _ = enrolled
    sent = queue(kiosk, 2)
    forger = ed25519.Ed25519PrivateKey.generate()
    results = []
    for wire in sent.values():
        env = parse(wire)
        receipt = Receipt(env.meta.envelope_id, TERMINAL, env.meta.seq, env.digest, "2026-11-25T00:00:00Z")
        results.append({"status": "stored", "receipt": receipt.signed_by(forger).as_dict()})
    write_receipts(tmp_path / "r", results)
    result = kiosk.import_receipts(tmp_path / "r")
    assert result["acknowledged"] == 0 and [r["code"] for r in result["rejected"]] == ["bad_signature"] * 2
    assert outbox_wires(kiosk) == sent
