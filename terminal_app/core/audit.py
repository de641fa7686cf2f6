"""Append-only audit log, hash-chained and keyed.

Each record carries the MAC of the one before it: mac = HMAC-SHA256(audit key, prev || record).
The audit key is derived from the terminal data key, so someone holding only the database file
cannot rewrite history consistently. A MAC'd head (last seq and mac) catches a cut-off tail.
Details accept only short tokens and numbers, so no name, ID number or phone can be logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from terminal_app.core.data_key import derive_subkey
from terminal_app.core.vault import Vault

GENESIS = "0" * 64
_TOKEN = re.compile(r"^[A-Za-z0-9_.:/-]{0,64}$")
_LONG_DIGITS = re.compile(r"\d{11,}")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class AuditDetailRefused(ValueError):
    """A detail that is not a short token or a number: it might carry personal data."""


def _check_value(name: str, value: object) -> None:
    if isinstance(value, bool | int | float) or value is None:
        if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 11:
            raise AuditDetailRefused(f"audit detail {name!r}: a long number may be personal data")
        return
    if isinstance(value, str) and _UUID.match(value):  # random ids, even when a group is all digits
        return
    if not isinstance(value, str) or not _TOKEN.match(value) or _LONG_DIGITS.search(value):
        raise AuditDetailRefused(
            f"audit detail {name!r}: only short ASCII tokens and numbers may be logged, never personal data"
        )


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    problem: str


def _canonical(seq: int, ts: float, event: str, actor: str, details: str, prev: str) -> bytes:
    return json.dumps([seq, ts, event, actor, details, prev], separators=(",", ":")).encode()


class AuditLog:
    def __init__(self, vault: Vault, *, clock: Callable[[], float] = time.time):
        self._vault = vault
        self._key = derive_subkey(vault.key, b"county-terminal/audit/v1")
        self._clock = clock

    def _mac(self, data: bytes) -> str:
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def _head_mac(self, seq: int, mac: str) -> str:
        return self._mac(f"head:{seq}:{mac}".encode())

    def append(self, event: str, actor: str = "kiosk", **details: object) -> int:
        """Add one record (in its own transaction, or inside the caller's). Returns its seq."""
        _check_value("event", event)
        _check_value("actor", actor)
        for name, value in details.items():
            _check_value(name, value)
        detail_text = json.dumps(details, sort_keys=True, separators=(",", ":"))
        with self._vault.transaction() as db:
            head = db.execute("SELECT seq, mac FROM audit_head WHERE id = 1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            ts = round(self._clock(), 3)
            mac = self._mac(_canonical(seq, ts, event, actor, detail_text, prev))
            db["audit"].insert(
                {"seq": seq, "ts": ts, "event": event, "actor": actor, "details": detail_text, "prev": prev, "mac": mac}
            )
            db["audit_head"].upsert({"id": 1, "seq": seq, "mac": mac, "head_mac": self._head_mac(seq, mac)}, pk="id")
        return seq

    def count(self) -> int:
        return self._vault.db["audit"].count

    def records(self) -> list[dict]:
        return list(self._vault.db["audit"].rows_where(order_by="seq"))

    def verify(self) -> list[AuditProblem]:
        """Every edit, insertion, deletion or truncation found; empty when the chain is intact."""
        return self.verify_from(None)[0]

    def verify_from(self, checked: tuple[int, str] | None) -> tuple[list[AuditProblem], tuple[int, str] | None]:
        """The chain's problems after `checked` (the last seq and mac a previous check found sound;
        None: from the start) and the head; with the new last sound point. A health check calls
        it often and so reads only what was appended since (the start checks the whole chain)."""
        problems: list[AuditProblem] = []
        prev, expected_seq = (GENESIS, 1) if checked is None else (checked[1], checked[0] + 1)
        for row in self._vault.db["audit"].rows_where("seq >= ?", [expected_seq], order_by="seq"):
            if row["seq"] != expected_seq:
                problems.append(AuditProblem(row["seq"], f"records {expected_seq}..{row['seq'] - 1} are missing"))
            if row["prev"] != prev:
                problems.append(AuditProblem(row["seq"], "does not link to the record before it"))
            data = _canonical(row["seq"], row["ts"], row["event"], row["actor"], row["details"], row["prev"])
            if not hmac.compare_digest(self._mac(data), row["mac"]):
                problems.append(AuditProblem(row["seq"], "content was changed after it was written"))
            prev, expected_seq = row["mac"], row["seq"] + 1
        head = self._vault.db.execute("SELECT seq, mac, head_mac FROM audit_head WHERE id = 1").fetchone()
        last_seq = expected_seq - 1
        if head is None:
            if last_seq:
                problems.append(AuditProblem(None, "the head record is missing"))
        else:
            if not hmac.compare_digest(self._head_mac(head[0], head[1]), head[2]):
                problems.append(AuditProblem(None, "the head record was changed"))
            if head[0] != last_seq or head[1] != prev:
                problems.append(AuditProblem(head[0], f"the log ends at {last_seq} but was written up to {head[0]}"))
        return problems, (None if problems or not last_seq else (last_seq, prev))

    def head(self) -> tuple[int, str] | None:
        """The chain's head as written (seq, mac), None for an empty log."""
        row = self._vault.db.execute("SELECT seq, mac FROM audit_head WHERE id = 1").fetchone()
        return (row[0], row[1]) if row else None

    def mac_at(self, seq: int) -> str | None:
        row = self._vault.db.execute("SELECT mac FROM audit WHERE seq = ?", [seq]).fetchone()
        return row[0] if row else None

    def latest_time(self) -> float | None:
        """The newest record's time (a clock set back shows as records from the future)."""
        return self._vault.db.execute("SELECT MAX(ts) FROM audit").fetchone()[0]
