"""Keyed digests (HMAC-SHA256) of ID numbers and mobile numbers: how a blocklist carries them and
how the terminal remembers recent applicants, never the numbers themselves. The central service
makes them, the terminal checks against them: both normalise a number the same way first."""

from __future__ import annotations

import hashlib
import hmac
import re


def normalise_id_number(value: str) -> str:
    return value.strip().upper()


def normalise_phone(value: str) -> str:
    """Digits only, without a +86 / 0086 prefix: '+86 138-0013-8000' -> '13800138000'."""
    digits = re.sub(r"\D", "", value)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def keyed_digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
