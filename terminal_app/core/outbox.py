"""The outbox: submitted applications as sealed, signed envelopes waiting for the central service.

A submitted application exists on the terminal only as an envelope sealed to the central opening
key (the terminal cannot read it back) until the central service returns a signed receipt for
those exact bytes; then the envelope is deleted and the receipt kept. Envelopes the central
service refuses for good (corrupted at rest, say) are moved aside to `held`, never deleted, and
shown to the field agent. Every change is one vault transaction, so a kill at any point leaves
each envelope either queued or receipted, never both and never neither.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from sync.envelope import Envelope, Meta, Receipt, WireError, parse, seal
from terminal_app.core.vault import Vault

APPLICATION_SCHEMA = "application/1"


@dataclass(frozen=True)
class Sealer:
    """What a terminal needs to make envelopes: its identity, its key, the central opening key."""

    terminal_id: str
    county: str
    signing_key: ed25519.Ed25519PrivateKey
    central_public: x25519.X25519PublicKey

    def seal(self, seq: int, payload: bytes, schema: str) -> Envelope:
        return seal(
            Meta.new(self.terminal_id, self.county, seq, schema=schema), payload, self.central_public, self.signing_key
        )


@dataclass(frozen=True)
class QueuedEnvelope:
    seq: int
    envelope_id: str
    created_at: float
    wire: bytes


class Outbox:
    def __init__(self, vault: Vault, sealer: Sealer, *, clock: Callable[[], float] = time.time):
        self._vault = vault
        self.sealer = sealer
        self._clock = clock

    @property
    def signing_key(self) -> ed25519.Ed25519PrivateKey:
        return self.sealer.signing_key

    # --- in ---------------------------------------------------------------------------

    def submit(self, payload: dict, *, schema: str = APPLICATION_SCHEMA, drop_draft: str | None = None) -> Meta:
        """Seal `payload` into the next envelope and queue it; in the same transaction drop the
        draft it came from. A full disk raises VaultError with nothing changed."""
        with self._vault.transaction() as db:
            meta = self._enqueue(db, payload, schema)
            if drop_draft is not None:
                db.execute("DELETE FROM drafts WHERE session_id = ?", [drop_draft])
        return meta

    def _enqueue(self, db, payload: dict, schema: str) -> Meta:
        """Inside the caller's transaction: take the next sequence number, seal, queue."""
        plaintext = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        seq = db.execute("SELECT last_seq FROM sync_state WHERE id = 1").fetchone()[0] + 1
        envelope = self.sealer.seal(seq, plaintext, schema)
        db.execute("UPDATE sync_state SET last_seq = ? WHERE id = 1", [seq])
        db["outbox"].insert(
            {
                "seq": seq,
                "envelope_id": envelope.meta.envelope_id,
                "created_at": self._clock(),
                "size": len(envelope.wire),
                "wire": envelope.wire,
            }
        )
        return envelope.meta

    def adopt_legacy_applications(self) -> int:
        """Applications stored by schema-1 software (encrypted but not sealed) go into the outbox,
        each sealed and removed in one transaction, so a kill in between cannot queue it twice."""
        ids = [row["application_id"] for row in self._vault.db["applications"].rows]
        for application_id in ids:
            payload = self._vault.load_application(application_id)
            with self._vault.transaction() as db:
                self._enqueue(db, payload, APPLICATION_SCHEMA)
                db.execute("DELETE FROM applications WHERE application_id = ?", [application_id])
        return len(ids)

    # --- out --------------------------------------------------------------------------

    def pending(self, *, limit: int = 64, max_bytes: int = 8 << 20) -> list[QueuedEnvelope]:
        """The oldest queued envelopes, at most `limit` of them and about `max_bytes` in all."""
        batch: list[QueuedEnvelope] = []
        total = 0
        for row in self._vault.db.execute(
            "SELECT seq, envelope_id, created_at, wire FROM outbox ORDER BY seq LIMIT ?", [limit]
        ):
            if batch and total + len(row[3]) > max_bytes:
                break
            batch.append(QueuedEnvelope(*row))
            total += len(row[3])
        return batch

    def acknowledge(
        self, receipted: list[tuple[QueuedEnvelope, Receipt]], central_keys: list[ed25519.Ed25519PublicKey]
    ) -> list[tuple[QueuedEnvelope, WireError]]:
        """Delete the queued envelopes whose receipts match their bytes and verify under a central
        key, in one transaction; the others stay queued and are returned with the reason."""
        good: list[tuple[QueuedEnvelope, Receipt]] = []
        bad: list[tuple[QueuedEnvelope, WireError]] = []
        for queued, receipt in receipted:
            try:
                receipt.verify_for(parse(queued.wire), central_keys)
                good.append((queued, receipt))
            except WireError as error:
                bad.append((queued, error))
        now = self._clock()
        with self._vault.transaction() as db:
            for queued, receipt in good:
                db.execute("DELETE FROM outbox WHERE seq = ?", [queued.seq])
                db["delivered"].upsert(
                    {
                        "envelope_id": queued.envelope_id,
                        "seq": queued.seq,
                        "envelope_sha256": receipt.envelope_sha256,
                        "receipt": json.dumps(receipt.as_dict(), sort_keys=True),
                        "delivered_at": now,
                    },
                    pk="envelope_id",
                )
        return bad

    def hold(self, queued: QueuedEnvelope, code: str, message: str) -> None:
        """Move an envelope the central service refuses for good out of the queue, keeping it."""
        with self._vault.transaction() as db:
            db["held"].upsert(
                {
                    "envelope_id": queued.envelope_id,
                    "seq": queued.seq,
                    "wire": queued.wire,
                    "code": code,
                    "message": message,
                    "held_at": self._clock(),
                },
                pk="envelope_id",
            )
            db.execute("DELETE FROM outbox WHERE seq = ?", [queued.seq])

    def release_held(self) -> int:
        """Put held envelopes back in the queue (after the cause was fixed centrally)."""
        with self._vault.transaction() as db:
            rows = list(db.execute("SELECT seq, envelope_id, held_at, wire FROM held"))
            for seq, envelope_id, held_at, wire in rows:
                db["outbox"].insert(
                    {"seq": seq, "envelope_id": envelope_id, "created_at": held_at, "size": len(wire), "wire": wire}
                )
            db.execute("DELETE FROM held")
        return len(rows)

    # --- state ------------------------------------------------------------------------

    def record_attempt(self, error: WireError | None = None, *, central_skew_s: float | None = None) -> int:
        """Note a sync attempt's outcome (and the central clock minus ours, if the service answered);
        returns the count of consecutive failures (for back-off)."""
        now = self._clock()
        with self._vault.transaction() as db:
            if central_skew_s is not None:
                db.execute(
                    "UPDATE sync_state SET central_skew_s = ?, central_skew_at = ? WHERE id = 1",
                    [round(central_skew_s, 1), now],
                )
            if error is None:
                db.execute(
                    "UPDATE sync_state SET last_attempt_at = ?, last_success_at = ?, failures = 0 WHERE id = 1",
                    [now, now],
                )
            else:
                db.execute(
                    "UPDATE sync_state SET last_attempt_at = ?, last_error_at = ?, last_error_code = ?, "
                    "last_error = ?, failures = failures + 1 WHERE id = 1",
                    [now, now, error.code, error.message],
                )
            return db.execute("SELECT failures FROM sync_state WHERE id = 1").fetchone()[0]

    def record_enrollment(self, url: str) -> None:
        with self._vault.transaction() as db:
            db.execute("UPDATE sync_state SET enrolled_url = ?, enrolled_at = ? WHERE id = 1", [url, self._clock()])

    def all_queued(self) -> list[QueuedEnvelope]:
        return [
            QueuedEnvelope(*row)
            for row in self._vault.db.execute("SELECT seq, envelope_id, created_at, wire FROM outbox ORDER BY seq")
        ]

    def delivered_ids(self) -> list[str]:
        return [r[0] for r in self._vault.db.execute("SELECT envelope_id FROM delivered ORDER BY seq")]

    def queued_ids(self) -> list[str]:
        return [r[0] for r in self._vault.db.execute("SELECT envelope_id FROM outbox ORDER BY seq")]

    def status(self) -> dict:
        """What the field agent's screen and `kiosk status --json` show."""
        db = self._vault.db
        queued, oldest, size = db.execute(
            "SELECT COUNT(*), MIN(created_at), COALESCE(SUM(size), 0) FROM outbox"
        ).fetchone()
        state = next(db["sync_state"].rows_where("id = 1"))
        now = self._clock()
        return {
            "queued": queued,
            "queued_bytes": size,
            "oldest_age_s": round(now - oldest, 1) if oldest is not None else None,
            "held": db["held"].count,
            "delivered": db["delivered"].count,
            "last_seq": state["last_seq"],
            "last_attempt_at": iso_utc(state["last_attempt_at"]),
            "last_success_at": iso_utc(state["last_success_at"]),
            "last_error": None
            if state["last_error_code"] is None
            else {
                "code": state["last_error_code"],
                "message": state["last_error"],
                "at": iso_utc(state["last_error_at"]),
            },
            "consecutive_failures": state["failures"],
            "enrolled_url": state["enrolled_url"],
            "central_skew_s": state["central_skew_s"],
            "central_skew_at": iso_utc(state["central_skew_at"]),
        }

    def oldest_queued_at(self) -> float | None:
        return self._vault.db.execute("SELECT MIN(created_at) FROM outbox").fetchone()[0]

    def record_central_audit_head(self, seq: int, mac: str) -> None:
        with self._vault.transaction() as db:
            db.execute("UPDATE sync_state SET central_audit_seq = ?, central_audit_mac = ? WHERE id = 1", [seq, mac])

    def central_audit_head(self) -> tuple[int, str] | None:
        """The highest audit head of this terminal the central service has seen (its last listing)."""
        query = "SELECT central_audit_seq, central_audit_mac FROM sync_state WHERE id = 1"
        row = self._vault.db.execute(query).fetchone()
        return None if row[0] is None else (row[0], row[1])

    def central_skew(self) -> tuple[float, float] | None:
        """The central clock minus ours at the last sync that reached the service, and when."""
        row = self._vault.db.execute("SELECT central_skew_s, central_skew_at FROM sync_state WHERE id = 1").fetchone()
        return None if row[0] is None else (row[0], row[1])


def iso_utc(ts: float | None) -> str | None:
    """A unix time as the UTC ISO form status reports use (seconds)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
