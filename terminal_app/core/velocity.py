"""Velocity on this terminal: how often an ID number or a phone number was scored here lately.

Only keyed digests are kept (HMAC-SHA256 under a subkey of the terminal's data key), so the
table reads as noise without that key and cannot be matched against a list of numbers.
Rows older than the longest window are deleted as new ones are written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from county_common.keyed_digests import keyed_digest, normalise_id_number, normalise_phone
from terminal_app.core.data_key import derive_subkey
from terminal_app.core.vault import Vault

SAME_ID_WINDOW_S = 24 * 3600
SHARED_PHONE_WINDOW_S = 30 * 24 * 3600


@dataclass(frozen=True)
class Velocity:
    same_id_recent: int  # earlier scorings of this ID number in the last 24 h
    phone_other_ids: int  # other ID numbers scored with this phone in the last 30 days


class VelocityLog:
    def __init__(self, vault: Vault, *, clock: Callable[[], float] = time.time):
        self._vault = vault
        self._clock = clock
        self._key = derive_subkey(vault.key, b"county-terminal/velocity/v1")

    def _digests(self, id_number: str, phone: str) -> tuple[str, str]:
        return (
            keyed_digest(self._key, "id", normalise_id_number(id_number)),
            keyed_digest(self._key, "phone", normalise_phone(phone)),
        )

    def counts(self, id_number: str, phone: str) -> Velocity:
        id_digest, phone_digest = self._digests(id_number, phone)
        now = self._clock()
        db = self._vault.db
        same_id = db.execute(
            "SELECT count(*) FROM scorings WHERE id_digest = ? AND at > ?", [id_digest, now - SAME_ID_WINDOW_S]
        ).fetchone()[0]
        other_ids = db.execute(
            "SELECT count(DISTINCT id_digest) FROM scorings WHERE phone_digest = ? AND id_digest != ? AND at > ?",
            [phone_digest, id_digest, now - SHARED_PHONE_WINDOW_S],
        ).fetchone()[0]
        return Velocity(same_id, other_ids)

    def record(self, id_number: str, phone: str) -> None:
        id_digest, phone_digest = self._digests(id_number, phone)
        now = self._clock()
        with self._vault.transaction() as db:
            db["scorings"].insert({"at": now, "id_digest": id_digest, "phone_digest": phone_digest})
            db.execute("DELETE FROM scorings WHERE at < ?", [now - SHARED_PHONE_WINDOW_S])
