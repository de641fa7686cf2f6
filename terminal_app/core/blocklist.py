"""The blocklist as the terminal holds it: keyed hashes (HMAC-SHA256) of ID numbers and mobile
numbers, never the numbers themselves. It arrives in a signed update with its key.

The key has to be on the terminal to check an applicant, so whoever takes the terminal's disk can
test guesses against the list; the hashes keep the list from being read off the disk as a list
of people, which is what PIPL asks of data the kiosk does not need in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from kiosk_config.updates import BLOCKLIST_FILE, BlocklistFile


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


@dataclass(frozen=True)
class Blocklist:
    key: bytes = b""
    id_numbers: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)

    def __len__(self) -> int:
        return len(self.id_numbers) + len(self.phones)

    def has_id_number(self, id_number: str) -> bool:
        return bool(self.key) and keyed_digest(self.key, "id", normalise_id_number(id_number)) in self.id_numbers

    def has_phone(self, phone: str) -> bool:
        return bool(self.key) and keyed_digest(self.key, "phone", normalise_phone(phone)) in self.phones

    @classmethod
    def from_file(cls, content: BlocklistFile) -> Blocklist:
        return cls(base64.b64decode(content.key), frozenset(content.id_numbers), frozenset(content.phones))


def make_blocklist_files(
    id_numbers: Iterable[str], phones: Iterable[str], key: bytes | None = None
) -> dict[str, bytes]:
    """The files of a blocklist update (central side): a fresh key unless one is given."""
    key = key or secrets.token_bytes(32)
    content = {
        "algorithm": "hmac-sha256",
        "key": base64.b64encode(key).decode(),
        "id_numbers": sorted({keyed_digest(key, "id", normalise_id_number(n)) for n in id_numbers}),
        "phones": sorted({keyed_digest(key, "phone", normalise_phone(p)) for p in phones}),
    }
    return {BLOCKLIST_FILE: json.dumps(content, indent=0).encode()}
