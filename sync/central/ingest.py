"""What the central sync service does, without HTTP: enroll terminals with one-time codes, revoke
them, and ingest envelopes — check each against its terminal's enrolled key, store it once,
return a signed receipt (the same one on every re-send). The opening key is never here."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.exc import IntegrityError

from sync.bundle import read_outbox_bundle, verify_bundle
from sync.central.store import CentralStore, Terminal, enrollment_codes, envelopes, now_iso, terminals
from sync.envelope import (
    MAX_CLOCK_SKEW_S,
    Envelope,
    Receipt,
    WireError,
    enrollment_answer_bytes,
    enrollment_request_bytes,
    parse,
    terminal_request_bytes,
    verify,
)
from sync.keys import KeyFileError, ed25519_public

TERMINAL_ID = re.compile(r"T-(\d{6})-\d{4}")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over a phone line
MAX_BATCH_ENVELOPES = 256


class CentralError(Exception):
    """A refusal with a stable protocol code, an HTTP status and a message for people."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


@dataclass
class Outcome:
    """One envelope's result: stored now, stored before (duplicate), or refused with a code."""

    status: str  # stored | duplicate | refused
    envelope_id: str | None = None
    receipt: Receipt | None = None
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict:
        result: dict = {"status": self.status, "envelope_id": self.envelope_id}
        if self.receipt is not None:
            result["receipt"] = self.receipt.as_dict()
        if self.code is not None:
            result["error"] = {"code": self.code, "message": self.message}
        return result


def _refused(error: WireError | CentralError, envelope_id: str | None = None) -> Outcome:
    return Outcome("refused", envelope_id, code=error.code, message=error.message)


@dataclass
class IngestService:
    store: CentralStore
    signing_key: ed25519.Ed25519PrivateKey | None = None  # admin commands (codes, revoke) need none
    _keys: dict[str, ed25519.Ed25519PublicKey] = field(default_factory=dict)

    # --- enrollment ----------------------------------------------------------------------

    def issue_code(self, terminal_id: str, *, valid_hours: float = 24.0) -> str:
        """A one-time code for an administrator to hand to the field agent installing the terminal."""
        match = TERMINAL_ID.fullmatch(terminal_id)
        if not match:
            raise CentralError("malformed", f"{terminal_id!r} is not a terminal id (T-<county>-<serial>)")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        now = datetime.now(UTC)
        with self.store.begin() as conn:
            existing = self.store.terminal(terminal_id, conn)
            if existing and existing.status != "pending":
                raise CentralError(
                    "already_enrolled",
                    f"{terminal_id} is {existing.status}; a replacement terminal gets a new serial number",
                    409,
                )
            if not existing:
                conn.execute(
                    sa.insert(terminals).values(
                        terminal_id=terminal_id,
                        county=match.group(1),
                        status="pending",
                        created_at=now_iso(),
                        last_seq=0,
                        missing_seqs=0,
                    )
                )
            conn.execute(
                sa.insert(enrollment_codes).values(
                    code_sha256=hashlib.sha256(code.encode()).hexdigest(),
                    terminal_id=terminal_id,
                    created_at=now_iso(),
                    expires_at=(now + timedelta(hours=valid_hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                )
            )
        return "-".join(code[i : i + 4] for i in range(0, 16, 4))

    def enroll(self, terminal_id: str, public_key: str, code: str, signature: str) -> dict:
        """Register a terminal's public key with a one-time code; the terminal proves it holds the
        private key by signing the request. Repeating a successful enrollment is harmless."""
        try:
            key = ed25519_public(public_key)
            key.verify(
                base64.b64decode(signature, validate=True), enrollment_request_bytes(terminal_id, public_key, code)
            )
        except (KeyFileError, InvalidSignature, ValueError):
            raise CentralError(
                "bad_signature", "the enrollment request is not signed by the key it carries", 403
            ) from None
        digest = hashlib.sha256(normalise_code(code).encode()).hexdigest()
        with self.store.begin() as conn:
            terminal = self.store.lock_terminal(conn, terminal_id)
            row = conn.execute(sa.select(enrollment_codes).where(enrollment_codes.c.code_sha256 == digest)).first()
            if terminal is None or row is None or row.terminal_id != terminal_id:
                raise CentralError("code_unknown", "no enrollment code like this was issued for this terminal", 403)
            if terminal.status == "revoked":
                raise CentralError("terminal_revoked", f"{terminal_id} is revoked", 403)
            if row.used_at is not None:
                if terminal.status == "active" and terminal.public_key == public_key:
                    return self._enrollment_answer(terminal_id, terminal.county, terminal.enrolled_at)
                raise CentralError("code_used", "this enrollment code was used already; ask for a new one", 403)
            if row.expires_at < now_iso():
                raise CentralError("code_expired", "this enrollment code has expired; ask for a new one", 403)
            if terminal.status == "active":
                raise CentralError("already_enrolled", f"{terminal_id} is enrolled with another key", 409)
            enrolled_at = now_iso()
            conn.execute(
                sa.update(enrollment_codes).where(enrollment_codes.c.code_sha256 == digest).values(used_at=enrolled_at)
            )
            conn.execute(
                sa.update(terminals)
                .where(terminals.c.terminal_id == terminal_id)
                .values(public_key=public_key, status="active", enrolled_at=enrolled_at)
            )
        return self._enrollment_answer(terminal_id, terminal.county, enrolled_at)

    def _key(self) -> ed25519.Ed25519PrivateKey:
        if self.signing_key is None:
            raise RuntimeError("this IngestService has no signing key; receipts cannot be signed")
        return self.signing_key

    def _enrollment_answer(self, terminal_id: str, county: str, enrolled_at: str | None) -> dict:
        signature = self._key().sign(enrollment_answer_bytes(terminal_id, county, "active", enrolled_at))
        body = {"county": county, "enrolled_at": enrolled_at, "status": "active", "terminal_id": terminal_id}
        return {**body, "sig": base64.b64encode(signature).decode()}

    def revoke(self, terminal_id: str) -> None:
        with self.store.begin() as conn:
            if self.store.lock_terminal(conn, terminal_id) is None:
                raise CentralError("unknown_terminal", f"{terminal_id} was never enrolled", 404)
            conn.execute(
                sa.update(terminals)
                .where(terminals.c.terminal_id == terminal_id)
                .values(status="revoked", revoked_at=now_iso())
            )
        self._keys.pop(terminal_id, None)

    def authenticate(
        self, terminal_id: str, timestamp: str, signature: str, method: str, path: str, *, now: float | None = None
    ) -> Terminal:
        """The enrolled, active terminal that signed this request (method, path, time), or a
        CentralError. The time must be within MAX_CLOCK_SKEW_S of ours, so a captured request
        cannot be replayed later; `clock_skew` tells the terminal to retry on our clock."""
        if not TERMINAL_ID.fullmatch(terminal_id) or not re.fullmatch(r"\d{1,12}", timestamp):
            raise CentralError("unauthenticated", "send X-Terminal-Id, X-Terminal-Time and X-Terminal-Signature", 401)
        terminal = self.store.terminal(terminal_id)
        refusal = self._terminal_refusal(terminal_id, terminal)
        if refusal:
            raise refusal
        assert terminal is not None and terminal.public_key is not None
        key = self._keys.setdefault(terminal_id, ed25519_public(terminal.public_key))
        try:
            key.verify(
                base64.b64decode(signature, validate=True),
                terminal_request_bytes(method, path, terminal_id, int(timestamp)),
            )
        except (InvalidSignature, ValueError):
            raise CentralError("bad_signature", "the request is not signed by the terminal's key", 401) from None
        skew = int(timestamp) - (time.time() if now is None else now)
        if abs(skew) > MAX_CLOCK_SKEW_S:
            raise CentralError("clock_skew", f"the terminal clock is {skew:+.0f} s off; use the Date header", 401)
        return terminal

    # --- ingest -------------------------------------------------------------------------

    def import_bundle(self, path: Path) -> list[Outcome]:
        """Ingest an outbox bundle carried on a USB stick: the manifest must verify under the
        terminal's enrolled key (a cut-short or edited file is refused whole), then each envelope
        is handled exactly as over HTTP, with the same idempotency."""
        bundle, manifest, signature = read_outbox_bundle(path)
        terminal = self.store.terminal(bundle.terminal_id)
        refusal = self._terminal_refusal(bundle.terminal_id, terminal)
        if refusal:
            raise refusal
        assert terminal is not None and terminal.public_key is not None
        verify_bundle(manifest, signature, ed25519_public(terminal.public_key))
        outcomes: list[Outcome] = []
        for start in range(0, len(bundle.wires), MAX_BATCH_ENVELOPES):
            outcomes.extend(self.ingest(bundle.wires[start : start + MAX_BATCH_ENVELOPES], via="bundle"))
        return outcomes

    def ingest(self, wires: list[bytes], *, via: str = "http") -> list[Outcome]:
        """Check and store a batch, in order. Each envelope gets its own outcome; a batch from
        several terminals is handled one terminal at a time, each in one transaction."""
        if len(wires) > MAX_BATCH_ENVELOPES:
            raise CentralError("oversize", f"a batch holds at most {MAX_BATCH_ENVELOPES} envelopes", 413)
        outcomes: list[Outcome | None] = [None] * len(wires)
        by_terminal: dict[str, list[tuple[int, Envelope]]] = {}
        for index, raw in enumerate(wires):
            try:
                envelope = parse(raw)
            except WireError as error:
                outcomes[index] = _refused(error)
                continue
            by_terminal.setdefault(envelope.meta.terminal_id, []).append((index, envelope))
        for terminal_id in sorted(by_terminal):  # a fixed order: no lock-order deadlocks
            for index, outcome in self._ingest_for(terminal_id, by_terminal[terminal_id], via):
                outcomes[index] = outcome
        return [o for o in outcomes if o is not None]

    def _ingest_for(self, terminal_id: str, items: list[tuple[int, Envelope]], via: str) -> list[tuple[int, Outcome]]:
        terminal = self.store.terminal(terminal_id)
        refusal = self._terminal_refusal(terminal_id, terminal)
        if refusal:
            return [(index, _refused(refusal, env.meta.envelope_id)) for index, env in items]
        assert terminal is not None and terminal.public_key is not None
        key = self._keys.setdefault(terminal_id, ed25519_public(terminal.public_key))
        results: list[tuple[int, Outcome]] = []
        checked: list[tuple[int, Envelope]] = []
        for index, envelope in items:  # signatures first, outside the lock: the CPU-heavy part
            try:
                verify(envelope, key)
                checked.append((index, envelope))
            except WireError as error:
                results.append((index, _refused(error, envelope.meta.envelope_id)))
        if not checked:
            return results
        try:
            results.extend(self._store_checked(terminal_id, checked, via))
        except IntegrityError:
            # another node stored one of these at the same moment; the re-run finds them stored
            results.extend(self._store_checked(terminal_id, checked, via))
        return results

    def _terminal_refusal(self, terminal_id: str, terminal) -> CentralError | None:
        if terminal is None:
            return CentralError("unknown_terminal", f"{terminal_id} is not enrolled here", 403)
        if terminal.status == "revoked":
            return CentralError("terminal_revoked", f"{terminal_id} was revoked at {terminal.revoked_at}", 403)
        if terminal.status != "active":
            return CentralError("terminal_not_enrolled", f"{terminal_id} has a code but has not enrolled", 403)
        return None

    def _store_checked(self, terminal_id: str, checked: list[tuple[int, Envelope]], via: str):
        results: list[tuple[int, Outcome]] = []
        with self.store.begin() as conn:
            terminal = self.store.lock_terminal(conn, terminal_id)
            refusal = self._terminal_refusal(terminal_id, terminal)  # revoked since the check above?
            if refusal:
                return [(index, _refused(refusal, env.meta.envelope_id)) for index, env in checked]
            assert terminal is not None
            last_seq, missing = terminal.last_seq, terminal.missing_seqs
            rows: list[dict] = []
            ids = [env.meta.envelope_id for _, env in checked]
            known = {
                row.envelope_id: row
                for row in conn.execute(
                    sa.select(
                        envelopes.c.envelope_id,
                        envelopes.c.seq,
                        envelopes.c.sha256,
                        envelopes.c.stored_at,
                        envelopes.c.receipt_sig,
                    ).where(envelopes.c.envelope_id.in_(ids))
                )
            }
            for index, envelope in checked:
                meta = envelope.meta
                if meta.envelope_id in known:
                    row = known[meta.envelope_id]
                    if row.sha256 != envelope.digest:
                        results.append(
                            (
                                index,
                                _refused(
                                    CentralError(
                                        "id_conflict", "another envelope with this id was stored, with different bytes"
                                    ),
                                    meta.envelope_id,
                                ),
                            )
                        )
                        continue
                    receipt = Receipt(
                        meta.envelope_id, terminal_id, row.seq, row.sha256, row.stored_at, bytes(row.receipt_sig)
                    )
                    results.append((index, Outcome("duplicate", meta.envelope_id, receipt)))
                    continue
                if meta.seq <= last_seq:
                    taken = conn.execute(
                        sa.select(envelopes.c.envelope_id).where(
                            envelopes.c.terminal_id == terminal_id, envelopes.c.seq == meta.seq
                        )
                    ).first()
                    error = (
                        CentralError("sequence_reused", f"seq {meta.seq} belongs to another envelope (replay?)")
                        if taken
                        else CentralError("sequence_out_of_order", f"seq {meta.seq} arrived after seq {last_seq}")
                    )
                    results.append((index, _refused(error, meta.envelope_id)))
                    continue
                stored_at = now_iso()
                receipt = Receipt(meta.envelope_id, terminal_id, meta.seq, envelope.digest, stored_at).signed_by(
                    self._key()
                )
                rows.append(
                    {
                        "envelope_id": meta.envelope_id,
                        "terminal_id": terminal_id,
                        "seq": meta.seq,
                        "county": meta.county,
                        "schema": meta.schema,
                        "created_at": meta.created_at,
                        "sha256": envelope.digest,
                        "wire": envelope.wire,
                        "stored_at": stored_at,
                        "receipt_sig": receipt.signature,
                        "via": via,
                    }
                )
                missing += meta.seq - last_seq - 1
                last_seq = meta.seq
                known[meta.envelope_id] = SimpleNamespace(  # a second copy in this batch is a duplicate
                    seq=meta.seq, sha256=envelope.digest, stored_at=stored_at, receipt_sig=receipt.signature
                )
                results.append((index, Outcome("stored", meta.envelope_id, receipt)))
            if rows:
                conn.execute(sa.insert(envelopes), rows)  # one round trip for the batch
            conn.execute(
                sa.update(terminals)
                .where(terminals.c.terminal_id == terminal_id)
                .values(last_seq=last_seq, missing_seqs=missing)
            )
        return results
