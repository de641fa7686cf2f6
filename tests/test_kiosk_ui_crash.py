"""kill -9 at any screen, then start again: the kiosk comes back to welcome, an application
submitted before the kill is still queued, a half-done draft is wiped (the vault's own recovery,
driven here through the real app process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terminal_app.core.kiosk import Kiosk

pytestmark = pytest.mark.e2e
TARGET = Path(__file__).resolve().parent / "ui_crash_target.py"


def run_until(config: Path, data: Path, screen: str) -> tuple[subprocess.Popen, int]:
    """The app process walked to `screen`, and the drafts it wiped when it started."""
    process = subprocess.Popen([sys.executable, str(TARGET), str(config), str(data), screen],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    wiped = -1
    deadline = time.monotonic() + 180
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("WIPED "):
            wiped = int(line.split()[1])
        if line.strip() == f"AT {screen}":
            return process, wiped
        assert time.monotonic() < deadline, f"the app did not reach {screen}"
    raise AssertionError(f"the app ended before reaching {screen} (exit {process.wait()})")


def queued_and_drafts(config: Path, data: Path) -> tuple[int, int]:
    kiosk = Kiosk.start(config, data, runs_sessions=False)  # looks without wiping
    try:
        return kiosk.outbox.status()["queued"], len(kiosk.vault.draft_ids())
    finally:
        kiosk.close()


def test_killed_at_any_screen_the_kiosk_comes_back_with_nothing_half_done(config_path, tmp_path):
    data = tmp_path / "data"
    wiped_at_each_start = []
    for screen, submitted in (("card", 0), ("form-phone", 0), ("confirm", 0), ("receipt", 1)):
        before, _ = queued_and_drafts(config_path, data) if data.exists() else (0, 0)
        process, wiped = run_until(config_path, data, screen)
        wiped_at_each_start.append(wiped)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        queued, drafts = queued_and_drafts(config_path, data)
        assert queued == before + submitted, screen
        assert drafts == (0 if submitted else 1), screen  # a half-done draft is left by the kill ...
    process, wiped = run_until(config_path, data, "welcome")  # ... and wiped by the next start
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert wiped_at_each_start == [0, 1, 1, 1] and wiped == 0
    assert queued_and_drafts(config_path, data) == (1, 0)
