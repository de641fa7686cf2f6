"""The blocklist as the terminal holds it: keyed hashes (HMAC-SHA256) of ID numbers and mobile
numbers, never the numbers themselves. It arrives in a signed update with its key.

The key has to be on the terminal to check an applicant, so whoever takes the terminal's disk can
test guesses against the list; the hashes keep the list from being read off the disk as a list
of people, which is what PIPL asks of data the kiosk does not need in the clear.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from county_common.keyed_digests import keyed_digest, normalise_id_number, normalise_phone
from kiosk_config.updates import BlocklistFile


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

