"""Property: whatever the interleaving of submissions, syncs, connections cut mid-request or
mid-response, a SIGKILLed client and a SIGKILLed, restarted central service, every envelope ends
up stored centrally exactly once and byte-identical, and none is lost on the terminal on the way."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from sync.keys import private_pem, write_private_file
from terminal_app.core.kiosk import Kiosk
from tests.conftest import CentralKeys
from tests.fault_proxy import FaultProxy, Plan
from tests.servers import ROOT, CentralProcess
from tests.test_sync import drain, outbox_wires

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

CENTRAL = CentralKeys()
SERIALS = itertools.count(1000)

operations = st.one_of(
    st.tuples(st.just("submit"), st.integers(1, 6)),
    st.tuples(st.just("sync"), st.just(0)),
    st.tuples(st.just("cut_request"), st.integers(0, 120_000)),
    st.tuples(st.just("cut_response"), st.integers(0, 4_000)),
    st.tuples(st.just("restart_server"), st.just(0)),
    st.tuples(st.just("kill_client"), st.integers(0, 40)),
)


@pytest.fixture(scope="module")
def world():
    work = Path(tempfile.mkdtemp(prefix="kiosk-interleave-"))
    key_file = work / "signing_key.pem"
    write_private_file(key_file, private_pem(CENTRAL.signing))
    db = str(work / "central.sqlite")
    server = CentralProcess(db, key_file).start()
    proxy = FaultProxy(server.port)
    state = {"server": server, "db": db, "key_file": key_file, "proxy": proxy, "work": work}
    yield state
    proxy.close()
    state["server"].stop()
    shutil.rmtree(work, ignore_errors=True)


def restart(world) -> None:
    world["server"].kill()
    world["server"] = CentralProcess(world["db"], world["key_file"], port=world["server"].port).start()


def kill_client_mid_sync(config: Path, data_dir: Path, store: CentralStore, after: int) -> None:
    before = store.envelope_count()
    child = subprocess.Popen(
        [sys.executable, "-m", "terminal_app", "--config", str(config), "--data-dir", str(data_dir), "sync", "--once"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while store.envelope_count() < before + after and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait()


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(operations, min_size=1, max_size=7))
@example(  # every kind of fault at least once, whatever the random draw
    [
        ("submit", 6),
        ("cut_request", 5_000),
        ("submit", 3),
        ("kill_client", 2),
        ("restart_server", 0),
        ("cut_response", 200),
        ("sync", 0),
    ]
)
def test_any_interleaving_stores_every_envelope_exactly_once(world, ops):
    terminal_id = f"T-422801-{next(SERIALS)}"
    data_dir = Path(tempfile.mkdtemp(prefix="kiosk-t-", dir=world["work"]))
    config_text = CENTRAL.write_config(data_dir.with_suffix(".toml"), url=world["proxy"].url).read_text()
    config = data_dir.with_suffix(".toml")
    config.write_text(config_text.replace('id = "T-422801-0001"', f'id = "{terminal_id}"'))
    kiosk = Kiosk.start(config, data_dir)
    store = CentralStore(world["db"])
    kiosk.enroll(TerminalRegistry(store).issue_code(terminal_id))
    sent: dict[str, bytes] = {}
    counter = itertools.count()
    try:
        for op, arg in ops:
            if op == "submit":
                for _ in range(arg):
                    kiosk.outbox.submit({"application_id": f"{terminal_id}-{next(counter)}", "blob": "x" * 20_000})
                sent.update(outbox_wires(kiosk))
            elif op == "restart_server":
                restart(world)
            elif op == "kill_client":
                kill_client_mid_sync(config, data_dir, store, arg)
            else:
                if op == "cut_request":
                    world["proxy"].plans.append(Plan(cut_request_after=arg))
                elif op == "cut_response":
                    world["proxy"].plans.append(Plan(cut_response_after=arg))
                kiosk.sync_client(batch_size=4).sync_once()
            # invariant at every step: each envelope is queued on the terminal or stored centrally
            queued = set(kiosk.outbox.queued_ids())
            stored = set(sent) & set(store.stored_wires())
            assert set(sent) <= queued | stored, "an envelope is neither queued nor stored"
            assert set(kiosk.outbox.delivered_ids()) <= stored, "deleted on the terminal but not stored"
        world["proxy"].plans.clear()
        drain(kiosk.sync_client())
        central_wires = {k: v for k, v in store.stored_wires().items() if k in sent}
        assert central_wires == sent
        assert_exactly_once_for_terminal(kiosk, store, terminal_id, sent)
    finally:
        store.close()
        kiosk.close()


def assert_exactly_once_for_terminal(kiosk: Kiosk, store: CentralStore, terminal_id: str, sent: dict) -> None:
    assert store.envelope_count(terminal_id) == len(sent)
    assert kiosk.outbox.queued_ids() == [] and kiosk.outbox.status()["held"] == 0
