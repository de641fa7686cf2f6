"""JSON as the protocol writes and reads it: canonical JSON (RFC 8785, for the values the protocol
signs: ASCII text, small integers, nested objects of those; keys sorted, no whitespace), what every
signature in sync/PROTOCOL.md is over; and `loads` for what arrives from outside, with its nesting
bounded."""

from __future__ import annotations

import json
import re


def jcs(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


MAX_DEPTH = 32  # the protocol nests four levels at most; a deeper document is refused before parsing
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


class TooDeep(ValueError):
    """JSON nested deeper than the protocol ever nests (a parser would recurse to exhaustion)."""


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> object:
    """json.loads for what arrives from outside: UTF-8 only, and nesting beyond `max_depth` is a
    TooDeep (a ValueError, like any malformed JSON or text that is not UTF-8), never a RecursionError."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    if data.count(b"[") + data.count(b"{") > max_depth:  # only then can it be too deep: look closer
        depth = 0
        for bracket in _BRACKETS.finditer(_STRINGS.sub(b"", data)):
            depth += 1 if bracket.group() in (b"[", b"{") else -1
            if depth > max_depth:
                raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(data.decode("utf-8"))  # the protocol's JSON is UTF-8, not whatever json guesses
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {max_depth} levels") from None
