"""The README's two commands are the ones CI runs and they exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text("utf-8")
    commands = re.findall(r"^(\./run \w+)", readme, flags=re.M)
    assert commands[:2] == ["./run demo", "./run test"]
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert re.search(r"^\./run test\s*$", ci, flags=re.M)
    assert os.access(ROOT / "run", os.X_OK) and os.access(ROOT / ".ci" / "run", os.X_OK)


def test_run_script_refuses_unknown_commands():
    import subprocess

    result = subprocess.run([str(ROOT / "run"), "bogus"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 64 and "usage" in result.stderr
