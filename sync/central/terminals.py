"""The terminals the central service knows: one-time enrollment codes, enrollment (the terminal
proves it holds the key it registers), revocation, and authenticating a terminal's signed request.
The ingest and update services ask it whether a terminal may be served and for its key."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync.central.errors import CentralError
from sync.central.store import CentralStore, Terminal, now_iso
from sync.envelope import MAX_CLOCK_SKEW_S, enrollment_answer_bytes, enrollment_request_bytes, terminal_request_bytes
from sync.keys import KeyFileError, ed25519_public

TERMINAL_ID = re.compile(r"T-(\d{6})-\d{4}")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over a phone line


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def refusal(terminal_id: str, terminal: Terminal | None) -> CentralError | None:
    """Why `terminal` may not be served (unknown, revoked, not yet enrolled), or None."""
    if terminal is None:
        return CentralError("unknown_terminal", f"{terminal_id} is not enrolled here", 403)
    if terminal.status == "revoked":
        return CentralError("terminal_revoked", f"{terminal_id} was revoked at {terminal.revoked_at}", 403)
    if terminal.status != "active":
        return CentralError("terminal_not_enrolled", f"{terminal_id} has a code but has not enrolled", 403)
    return None


class TerminalRegistry:
    """`signing_key` signs enrollment answers; administrators' commands (codes, revoke) need none."""

    def __init__(self, store: CentralStore, signing_key: ed25519.Ed25519PrivateKey | None = None):
        self.store = store
        self.signing_key = signing_key
        self._keys: dict[str, ed25519.Ed25519PublicKey] = {}

    def serving(self, terminal_id: str) -> tuple[Terminal, ed25519.Ed25519PublicKey]:
        """The enrolled, active terminal and its public key; CentralError if it may not be served."""
        terminal = self.store.terminal(terminal_id)
        if (refused := refusal(terminal_id, terminal)) is not None:
            raise refused
        assert terminal is not None and terminal.public_key is not None
        return terminal, self._keys.setdefault(terminal_id, ed25519_public(terminal.public_key))

    # --- enrollment ----------------------------------------------------------------------------

    def issue_code(self, terminal_id: str, *, valid_hours: float = 24.0) -> str:
        """A one-time code for an administrator to hand to the field agent installing the terminal."""
        match = TERMINAL_ID.fullmatch(terminal_id)
        if not match:
            raise CentralError("malformed", f"{terminal_id!r} is not a terminal id (T-<county>-<serial>)")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        expires_at = (datetime.now(UTC) + timedelta(hours=valid_hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.store.begin() as conn:
            existing = self.store.terminal(terminal_id, conn)
            if existing and existing.status != "pending":
                raise CentralError(
                    "already_enrolled",
                    f"{terminal_id} is {existing.status}; a replacement terminal gets a new serial number",
                    409,
                )
            if not existing:
                self.store.add_pending_terminal(conn, terminal_id, match.group(1))
            self.store.add_enrollment_code(conn, hashlib.sha256(code.encode()).hexdigest(), terminal_id, expires_at)
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
            issued = self.store.enrollment_code(conn, digest)
            if terminal is None or issued is None or issued.terminal_id != terminal_id:
                raise CentralError("code_unknown", "no enrollment code like this was issued for this terminal", 403)
            if terminal.status == "revoked":
                raise CentralError("terminal_revoked", f"{terminal_id} is revoked", 403)
            if issued.used_at is not None:
                if terminal.status == "active" and terminal.public_key == public_key:
                    return self._enrollment_answer(terminal_id, terminal.county, terminal.enrolled_at)
                raise CentralError("code_used", "this enrollment code was used already; ask for a new one", 403)
            if issued.expires_at < now_iso():
                raise CentralError("code_expired", "this enrollment code has expired; ask for a new one", 403)
            if terminal.status == "active":
                raise CentralError("already_enrolled", f"{terminal_id} is enrolled with another key", 409)
            enrolled_at = now_iso()
            self.store.use_enrollment_code(conn, digest, enrolled_at)
            self.store.activate_terminal(conn, terminal_id, public_key, enrolled_at)
        return self._enrollment_answer(terminal_id, terminal.county, enrolled_at)

    def _enrollment_answer(self, terminal_id: str, county: str, enrolled_at: str | None) -> dict:
        if self.signing_key is None:
            raise RuntimeError("this TerminalRegistry has no signing key; enrollment answers cannot be signed")
        signature = self.signing_key.sign(enrollment_answer_bytes(terminal_id, county, "active", enrolled_at))
        body = {"county": county, "enrolled_at": enrolled_at, "status": "active", "terminal_id": terminal_id}
        return {**body, "sig": base64.b64encode(signature).decode()}

    def revoke(self, terminal_id: str) -> None:
        with self.store.begin() as conn:
            if self.store.lock_terminal(conn, terminal_id) is None:
                raise CentralError("unknown_terminal", f"{terminal_id} was never enrolled", 404)
            self.store.revoke_terminal(conn, terminal_id)
        self._keys.pop(terminal_id, None)

    # --- signed requests ------------------------------------------------------------------------

    def authenticate(
        self, terminal_id: str, timestamp: str, signature: str, method: str, path: str, *, now: float | None = None
    ) -> Terminal:
        """The enrolled, active terminal that signed this request (method, path, time), or a
        CentralError. The time must be within MAX_CLOCK_SKEW_S of ours, so a captured request
        cannot be replayed later; `clock_skew` tells the terminal to retry on our clock."""
        if not TERMINAL_ID.fullmatch(terminal_id) or not re.fullmatch(r"\d{1,12}", timestamp):
            raise CentralError("unauthenticated", "send X-Terminal-Id, X-Terminal-Time and X-Terminal-Signature", 401)
        terminal, key = self.serving(terminal_id)
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
