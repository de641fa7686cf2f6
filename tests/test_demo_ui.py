"""`kiosk demo --ui`: the demo's applicants through the real screens, offscreen, as a reader of the
README runs it: every screen saved, the contact sheet written, the applications synced."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

pytestmark = pytest.mark.e2e


def test_the_demo_walks_the_screens_and_leaves_screenshots_and_a_contact_sheet(tmp_path):
    keep = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "terminal_app", "demo", "--ui", "--applicants", "2", "--keep",
                           str(keep), "--json"], capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert [w["end"] for w in report["walks"]] == ["receipt", "receipt"] and report["stored_centrally"] == 2
    assert report["walks"][0]["screens"][:5] == ["welcome", "consent", "card", "check", "face"]
    shots = sorted((keep / "screens").rglob("*.png"))
    assert len(shots) >= 24
    sheet = Image.open(keep / "contact-sheet.png")
    assert sheet.width == 5 * 384 and sheet.height >= 3 * 240
