"""Terminal ↔ central over real HTTP on loopback, with the central service in its own process on
SQLite and on PostgreSQL. After every fault — cut connections, a killed server, a killed client,
a revoked terminal, a wrong central key, an envelope damaged at rest — every envelope is stored
centrally exactly once, byte-identical, and nothing is lost on the terminal."""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.sync_client import backoff_delay
from tests.fault_proxy import FaultProxy, Plan
from tests.servers import ROOT, CentralProcess, free_port

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

PORTRAIT_AND_FRAME = 30_000  # bytes of image data per application, as base64 in the payload


def queue(kiosk: Kiosk, count: int, seed: int = 7) -> dict[str, bytes]:
    """Queue `count` applications of realistic size; returns the wire bytes by envelope id."""
    rng = random.Random(seed)
    for i in range(count):
        images = base64.b64encode(rng.randbytes(PORTRAIT_AND_FRAME)).decode()
        kiosk.outbox.submit({"application_id": f"app-{seed}-{i}", "card": {"portrait_jpeg": images}})
    return outbox_wires(kiosk)


def outbox_wires(kiosk: Kiosk) -> dict[str, bytes]:
    return dict(kiosk.vault.db.execute("SELECT envelope_id, wire FROM outbox").fetchall())


def enrolled_kiosk(path: Path, central, central_db: str, url: str, terminal_id: str = "T-422801-0001") -> Kiosk:
    config = central.write_config(path.with_suffix(".toml"), url=url)
    kiosk = Kiosk.start(config, path)
    store = CentralStore(central_db)
    code = TerminalRegistry(store).issue_code(terminal_id)
    store.close()
    kiosk.enroll(code)
    return kiosk


def assert_exactly_once(kiosk: Kiosk, central_db: str, sent: dict[str, bytes]) -> None:
    store = CentralStore(central_db)
    stored = store.stored_wires()
    store.close()
    assert set(stored) == set(sent), "an envelope is missing centrally, or one was stored that was never sent"
    assert all(stored[i] == sent[i] for i in sent), "a stored envelope differs from the bytes the terminal sent"
    assert kiosk.outbox.queued_ids() == [] and kiosk.outbox.status()["held"] == 0
    assert set(kiosk.outbox.delivered_ids()) == set(sent)


def drain(client, attempts: int = 30):
    for _ in range(attempts):
        report = client.sync_once()
        if report.ok and report.remaining == 0:
            return report
    raise AssertionError(f"not drained after {attempts} attempts: {report.as_dict()}")


@pytest.mark.slow
def test_enroll_and_sync_deliver_every_envelope_exactly_once(tmp_path, central, central_db, central_server):
    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, central_server.url)
    sent = queue(kiosk, 70)  # more than one batch
    report = kiosk.sync_client().sync_once()
    assert report.ok and (report.stored, report.remaining) == (70, 0)
    assert_exactly_once(kiosk, central_db, sent)
    assert kiosk.sync_client().sync_once().sent == 0  # nothing left to send
    status = kiosk.status()["sync"]
    assert status["delivered"] == 70 and status["last_error"] is None and status["last_success_at"]


def test_unreachable_central_keeps_everything_and_says_so(tmp_path, central):
    config = central.write_config(tmp_path / "k.toml", url=f"http://127.0.0.1:{free_port()}/")
    kiosk = Kiosk.start(config, tmp_path / "t")
    sent = queue(kiosk, 3)
    report = kiosk.sync_client().sync_once()
    assert report.error.code == "unreachable" and report.remaining == 3
    assert outbox_wires(kiosk) == sent
    status = kiosk.status()["sync"]
    assert status["last_error"]["code"] == "unreachable" and status["consecutive_failures"] == 1


@pytest.mark.slow
def test_connections_cut_mid_request_and_mid_response_lose_and_duplicate_nothing(
    tmp_path, central, central_db, central_server
):
    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, central_server.url)
    sent = queue(kiosk, 40)
    proxy = FaultProxy(
        central_server.port,
        [
            Plan(cut_request_after=300),  # inside the headers
            Plan(cut_request_after=500_000),  # inside the body
            Plan(cut_response_after=40),  # after the server stored the batch, before the answer arrived
            Plan(cut_response_after=3_000),  # inside the answer
        ],
    )
    client = kiosk.sync_client(proxy.url, batch_size=16)
    drain(client)
    proxy.close()
    assert proxy.cuts == 4
    assert_exactly_once(kiosk, central_db, sent)


@pytest.mark.slow
def test_server_killed_mid_batch_and_restarted(tmp_path, central, central_db, central_key_file):
    server = CentralProcess(central_db, central_key_file).start()
    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, server.url)
    sent = queue(kiosk, 300)
    reports = []

    def background_sync() -> None:  # as the kiosk's background loop does: its own vault connection
        own = Kiosk.start(tmp_path / "t.toml", tmp_path / "t")
        reports.append(own.sync_client(batch_size=8).sync_once())
        own.close()

    sender = threading.Thread(target=background_sync)
    sender.start()
    store = CentralStore(central_db)
    deadline = time.monotonic() + 30
    while store.envelope_count() < 24 and time.monotonic() < deadline:
        time.sleep(0.005)
    server.kill()  # SIGKILL, in the middle of the backlog
    sender.join()
    store.close()
    assert reports[0].error is not None and reports[0].error.code in {"unreachable", "connection_lost"}
    assert 0 < kiosk.outbox.status()["queued"] < 300
    server = CentralProcess(central_db, central_key_file, port=server.port).start()
    try:
        drain(kiosk.sync_client())
    finally:
        server.stop()
    assert_exactly_once(kiosk, central_db, sent)


@pytest.mark.slow
def test_client_killed_with_sigkill_during_batches(tmp_path, central, central_db, central_server):
    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, central_server.url)
    sent = queue(kiosk, 400)
    config = tmp_path / "t.toml"
    rng = random.Random(5)
    store = CentralStore(central_db)
    queued_after_kills = []
    for _ in range(4):
        stored_before = store.envelope_count()
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "terminal_app",
                "--config",
                str(config),
                "--data-dir",
                str(tmp_path / "t"),
                "sync",
                "--once",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for = stored_before + rng.randint(1, 40)  # kill once the central side has seen some of it
        deadline = time.monotonic() + 30
        while store.envelope_count() < wait_for and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        queued_after_kills.append(kiosk.outbox.status()["queued"])
    store.close()
    assert any(0 < queued < 400 for queued in queued_after_kills), f"no kill landed mid-drain: {queued_after_kills}"
    drain(kiosk.sync_client())
    assert_exactly_once(kiosk, central_db, sent)
    assert kiosk.vault.integrity_problems() == []


def test_wrong_central_key_on_the_terminal_deletes_nothing(tmp_path, central, central_db, central_server):
    from tests.conftest import CentralKeys

    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, central_server.url)
    sent = queue(kiosk, 5)
    impostor_keys = CentralKeys(opening=central.opening)  # same sealing key, other receipt key
    from sync.keys import ed25519_public, public_b64

    client = kiosk.sync_client()
    client.central_keys = [ed25519_public(public_b64(impostor_keys.signing))]
    report = client.sync_once()
    assert report.error.code == "bad_receipt" and outbox_wires(kiosk) == sent
    drain(kiosk.sync_client())  # the right key: the re-send gets the stored receipts
    assert_exactly_once(kiosk, central_db, sent)


def test_revoked_terminal_is_refused_and_keeps_its_queue(tmp_path, central, central_db, central_server):
    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, central_server.url)
    sent = queue(kiosk, 3)
    store = CentralStore(central_db)
    TerminalRegistry(store).revoke("T-422801-0001")
    store.close()
    report = kiosk.sync_client().sync_once()
    assert report.error.code == "terminal_revoked" and outbox_wires(kiosk) == sent


def test_unenrolled_terminal_is_refused(tmp_path, central, central_server):
    config = central.write_config(tmp_path / "k.toml", url=central_server.url)
    kiosk = Kiosk.start(config, tmp_path / "t")
    queue(kiosk, 1)
    report = kiosk.sync_client().sync_once()
    assert report.error.code == "unauthenticated" and kiosk.outbox.status()["queued"] == 1  # kept


def test_envelope_damaged_at_rest_is_held_and_the_rest_are_delivered(tmp_path, central, central_db, central_server):
    kiosk = enrolled_kiosk(tmp_path / "t", central, central_db, central_server.url)
    sent = queue(kiosk, 4)
    (wire,) = kiosk.vault.db.execute("SELECT wire FROM outbox WHERE seq = 2").fetchone()
    damaged = wire[:150] + bytes([wire[150] ^ 0x04]) + wire[151:]
    kiosk.vault.db.execute("UPDATE outbox SET wire = ? WHERE seq = 2", [damaged])
    report = kiosk.sync_client().sync_once()
    assert report.ok and report.stored == 3 and len(report.held) == 1
    assert kiosk.outbox.status()["held"] == 1 and kiosk.outbox.status()["queued"] == 0
    store = CentralStore(central_db)
    assert set(store.stored_wires()) == set(sent) - {report.held[0][0]}
    assert store.terminal("T-422801-0001").missing_seqs == 1
    store.close()


def test_bad_requests_get_specific_errors_not_crashes(central_server):
    url = f"{central_server.url}/v1/envelopes"
    wrong_type = requests.post(url, data=b"{}", headers={"Content-Type": "application/json"})
    empty = requests.post(url, data=b"\n", headers={"Content-Type": "application/x-ndjson"})
    huge = requests.post(url, data=b"x" * (17 << 20), headers={"Content-Type": "application/x-ndjson"})
    assert (wrong_type.status_code, empty.status_code, huge.status_code) == (415, 200, 413)
    assert empty.json() == {"results": []}
    assert huge.json()["error"]["code"] == "oversize"
    garbage = requests.post(url, data=b"not json\n", headers={"Content-Type": "application/x-ndjson"})
    assert garbage.status_code == 200 and garbage.json()["results"][0]["error"]["code"] == "malformed"
    bad_enroll = requests.post(f"{central_server.url}/v1/enroll", json={"v": 2, "terminal_id": "nope"})
    assert bad_enroll.status_code == 400 and bad_enroll.json()["error"]["code"] == "malformed"
    old_enroll = requests.post(f"{central_server.url}/v1/enroll", json={"terminal_id": "nope"})  # no v: version 1
    assert old_enroll.status_code == 400 and old_enroll.json()["error"]["code"] == "unsupported_version"


def test_backoff_grows_exponentially_with_full_jitter_and_is_capped():
    rng = random.Random(1)
    delays = [[backoff_delay(n, rng) for _ in range(200)] for n in range(12)]
    assert all(0 <= d <= min(900, 2 * 2**n) for n, row in enumerate(delays) for d in row)
    assert max(delays[1]) < 4.01 and max(delays[8]) > 256 and max(delays[11]) <= 900
    assert len({round(d, 6) for d in delays[5]}) > 150  # jittered, not in step


def _central_keys_config(kiosk: Kiosk, keys: list) -> bytes:
    """A config update's [central] section trusting `keys` for receipts and updates."""
    from sync.keys import public_b64

    listed = ", ".join(f'"{public_b64(key)}"' for key in keys)
    return (
        f'[central]\nurl = "{kiosk.config.central.url}"\nhpke_public_key = "{kiosk.config.central.hpke_public_key}"\n'
        f"signing_public_keys = [{listed}]\n"
    ).encode()


def test_a_central_signing_key_rotation_with_envelopes_in_flight_loses_and_holds_nothing(tmp_path, central):
    """The service starts signing receipts with a new key before this terminal trusts it: the
    batch's receipts do not verify, yet the config update that brings the key (signed by the old
    one) is pulled in the same pass, and the outbox is drained with it. Envelopes the service had
    stored under the old key and answers again are signed with the new one."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sync.central.updates import UpdateService
    from sync.keys import private_pem, write_private_file

    db = str(tmp_path / "central.sqlite")
    old_key, new_key = central.signing, ed25519.Ed25519PrivateKey.generate()
    old_file, new_file = tmp_path / "old.pem", tmp_path / "new.pem"
    write_private_file(old_file, private_pem(old_key))
    write_private_file(new_file, private_pem(new_key))
    server = CentralProcess(db, old_file).start()
    try:
        kiosk = enrolled_kiosk(tmp_path / "t", central, db, server.url)
        queue(kiosk, 3, seed=1)
        assert kiosk.sync_client().sync_once().ok and kiosk.outbox.queued_ids() == []
        stored_before = queue(kiosk, 2, seed=2)  # stored under the old key; the receipts never came back
        answer = requests.post(f"{server.url}/v1/envelopes", data=b"\n".join(stored_before.values()) + b"\n",
                               headers={"Content-Type": "application/x-ndjson"}, timeout=10)  # fmt: skip
        assert [r["status"] for r in answer.json()["results"]] == ["stored", "stored"]
        in_flight = set(queue(kiosk, 4, seed=3)) - set(stored_before)
        both = _central_keys_config(kiosk, [old_key, new_key])
        UpdateService(CentralStore(db), old_key).publish("config", {"config.toml": both}, ["*"])
    finally:
        server.stop()
    server = CentralProcess(db, new_file, port=server.port).start()  # the service now signs with the new key
    try:
        report = kiosk.sync_client().sync_once()
        assert report.ok, report.as_dict()
        assert [u["outcome"] for u in report.updates] == ["applied"]
        # stored on the first drain (receipts not yet trusted), answered again on the second
        assert (report.stored, report.duplicates) == (4, 2 + 6)
        assert kiosk.outbox.queued_ids() == [] and kiosk.outbox.status()["held"] == 0
        store = CentralStore(db)
        assert set(in_flight) | set(stored_before) <= set(store.stored_wires())
        store.close()
    finally:
        server.stop()
        kiosk.close()


def test_a_re_sent_envelope_is_receipted_with_the_key_in_use_now(tmp_path, central):
    """A terminal that already dropped the old key can still clear an envelope stored under it."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sync.central.ingest import IngestService
    from sync.envelope import Receipt, WireError, parse

    db = str(tmp_path / "central.sqlite")
    store = CentralStore(db)
    before = IngestService(store, central.signing)
    kiosk = Kiosk.start(central.write_config(tmp_path / "k.toml"), tmp_path / "t")
    try:
        from sync import enrollment

        before.terminals.enroll(enrollment.build_request("T-422801-0001", kiosk.outbox.signing_key,
                                                         before.terminals.issue_code("T-422801-0001")))  # fmt: skip
        wire = next(iter(queue(kiosk, 1).values()))
        assert before.ingest([wire])[0].status == "stored"
        new_key = ed25519.Ed25519PrivateKey.generate()
        again = IngestService(store, new_key).ingest([wire])[0]
        assert again.status == "duplicate"
        receipt = Receipt.from_dict(again.receipt.as_dict())
        receipt.verify_for(parse(wire), [new_key.public_key()])
        with pytest.raises(WireError):
            receipt.verify_for(parse(wire), [central.signing.public_key()])
    finally:
        kiosk.close()
        store.close()
