"""The kiosk app and the sync loop write one vault at once, each with its own connection (the
threading rule in core/core_thread.py): applicant sessions seal applications, write drafts and
audit records while the sync loop sends, receipts and deletes, for a sustained run. No write
fails on a lock, every application reaches the central service exactly once, none is lost."""

from __future__ import annotations

import os
import threading
import time

import pytest

from sync.central.store import CentralStore
from terminal_app.core.kiosk import Kiosk
from tests.servers import CentralProcess
from tests.test_flow import CARD, CONSENT, FORM, LIVE
from tests.test_sync import enrolled_kiosk

pytestmark = pytest.mark.e2e  # the whole product: ./run test runs it, the developer loop does not

SECONDS = float(os.environ.get("KIOSK_CONCURRENCY_SECONDS", "90"))  # the issue asks for minutes: raise it to soak


def one_application(kiosk: Kiosk) -> str | None:
    """An applicant through every step with fixed inputs (the engines are not what is tested
    here); the application id if it was submitted."""
    flow = kiosk.new_application()
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    flow.submit_liveness(LIVE)
    flow.submit_form(FORM)
    kiosk.score(flow)
    if flow.step.value == "offer":
        flow.accept_offer()
        flow.confirm()
    application_id = flow.application_id
    flow.finish()
    return application_id


@pytest.mark.slow
def test_sessions_and_the_sync_loop_write_at_once_without_a_lock_error_or_a_loss(tmp_path, central, central_key_file):
    db = str(tmp_path / "central.sqlite")
    server = CentralProcess(db, central_key_file).start()
    try:
        app = enrolled_kiosk(tmp_path / "terminal", central, db, server.url)
        config = tmp_path / "terminal.toml"
        stop = threading.Event()
        reports: list = []
        failures: list[BaseException] = []

        def sync_loop() -> None:
            try:
                own = Kiosk.start(config, tmp_path / "terminal", runs_sessions=False)  # its own connection
                try:
                    own.sync_client(batch_size=8).run_forever(stop, interval=0.05, on_report=reports.append)
                finally:
                    own.close()
            except BaseException as error:
                failures.append(error)

        syncing = threading.Thread(target=sync_loop, name="sync-loop")
        syncing.start()
        submitted: list[str] = []
        deadline = time.monotonic() + SECONDS
        try:
            while time.monotonic() < deadline and not failures:
                if (application_id := one_application(app)) is not None:
                    submitted.append(application_id)
        finally:
            stop.set()
            syncing.join(60)
        assert failures == []
        errors = [r.error.code for r in reports if r.error is not None]
        assert errors == [], f"sync passes failed: {sorted(set(errors))}"
        sent_by_loop = sum(r.stored for r in reports)
        final = app.sync_client().sync_once()  # what the last pass had not reached yet
        assert final.ok and final.remaining == 0
        store = CentralStore(db)
        stored = store.stored_wires()
        store.close()
        assert len(stored) == len(submitted) == sent_by_loop + final.stored
        assert app.outbox.queued_ids() == [] and app.vault.draft_ids() == []
        assert app.audit.verify() == []
        assert len(submitted) > 50  # it was a sustained run, not a handful
        app.close()
    finally:
        server.stop()
