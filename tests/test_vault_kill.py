"""kill -9 at random moments while a child process writes: after every kill the vault opens,
passes SQLite's integrity check, and holds every record the child saw committed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.envelope import parse
from terminal_app.core.audit import AuditLog
from terminal_app.core.vault import Vault

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

ROUNDS = 12


@pytest.mark.slow
def test_vault_survives_sigkill_in_a_loop(tmp_path):
    rng = random.Random(20261125)
    root = Path(__file__).resolve().parent.parent
    committed: list[str] = []
    for round_no in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.vault_writer", str(tmp_path), f"r{round_no}"],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = child.stdout.readline()  # the child has started writing (a busy machine starts slowly)
        seen: list[str] = [first.strip()] if first else []
        deadline = time.monotonic() + rng.uniform(0.05, 1.2)
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
        os.kill(child.pid, signal.SIGKILL)
        # lines already written before the kill were committed too
        seen.extend(line.strip() for line in child.stdout.read().splitlines() if line.strip())
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL
        assert seen, "the child wrote nothing before it was killed"
        committed.extend(seen)

        vault = Vault(tmp_path)
        assert vault.integrity_problems() == []
        queued = {envelope_id: wire for envelope_id, wire in vault.db.execute("SELECT envelope_id, wire FROM outbox")}
        missing = [a for a in committed if a not in queued]
        assert not missing, f"round {round_no}: committed envelopes lost: {missing[:5]}"
        for envelope_id in seen[-3:]:
            assert parse(queued[envelope_id]).meta.envelope_id == envelope_id  # whole, not half-written
        seqs = [row[0] for row in vault.db.execute("SELECT seq FROM outbox ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1)), "sequence numbers have a gap or a repeat"
        rounds = [draft.split("-")[0] for draft in vault.draft_ids()]
        assert len(rounds) == len(set(rounds)), "a killed round left more than the one draft it had in flight"
        assert AuditLog(vault).verify() == []
        vault.close()
    assert len(committed) > ROUNDS * 5
