"""The examples in sync/PROTOCOL.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

PROTOCOL = Path(__file__).resolve().parent.parent / "sync" / "PROTOCOL.md"


def test_protocol_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", PROTOCOL.read_text("utf-8"), flags=re.S)
    assert blocks, "PROTOCOL.md has no python example"
    for block in blocks:
        exec(compile(block, str(PROTOCOL), "exec"), {})
