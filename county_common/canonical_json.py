"""Canonical JSON (RFC 8785, for the values the protocol signs: ASCII text, small integers, nested
objects of those): keys sorted, no whitespace. What every signature in sync/PROTOCOL.md is over."""

from __future__ import annotations

import json


def jcs(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
