"""The terminals the central service knows: one-time enrollment codes, enrollment (the terminal
proves it holds the key it registers), revocation, and authenticating a terminal's signed request.
The ingest and update services ask it whether a terminal may be served and for its key."""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.exc import IntegrityError

from sync import enrollment
from sync.central.errors import CentralError
from sync.central.store import CentralStore, Terminal, now_iso
from sync.envelope import (
    AUDIT_HEAD_PATTERN,
    MAX_CLOCK_SKEW_S,
    NONCE_PATTERN,
    enrollment_answer_bytes,
    enrollment_request_bytes,
    terminal_request_bytes,
)
from sync.keys import KeyFileError, ed25519_public

TERMINAL_ID = re.compile(r"T-([0-9]{6})-[0-9]{4}")
# An envelope from an unknown terminal, one not enrolled yet, or not signed by the key its terminal
# enrolled: one answer for all three, so a sender learns nothing of which terminals exist.
UNSIGNED_ENVELOPE = CentralError("unauthenticated", "the envelope is not signed by an enrolled terminal's key", 403)
UNAUTHENTICATED = CentralError(
    "unauthenticated", "sign the request as an enrolled terminal (X-Terminal-Id, -Time, -Signature)", 401
)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over a phone line


def refusal(terminal_id: str, terminal: Terminal | None) -> CentralError | None:
    """Why `terminal` may not be served (unknown, revoked, not yet enrolled), or None."""
    if terminal is None:
        return CentralError("unknown_terminal", f"{terminal_id} is not enrolled here", 403)
    if terminal.status == "revoked":
        return CentralError("terminal_revoked", f"{terminal_id} is revoked", 403)
    if terminal.status != "active":
        return CentralError("terminal_not_enrolled", f"{terminal_id} has a code but has not enrolled", 403)
    return None


class TerminalRegistry:
    """`signing_key` signs enrollment answers; administrators' commands (codes, revoke) need none."""

    def __init__(
        self,
        store: CentralStore,
        signing_key: ed25519.Ed25519PrivateKey | None = None,
        *,
        accept_v1_enrollment: bool = False,
    ):
        self.store = store
        self.signing_key = signing_key
        self.accept_v1_enrollment = accept_v1_enrollment  # terminals not yet updated: off unless configured
        self.accept_v1_requests = False  # signed requests without a nonce (wire version 1): off unless configured
        self._keys: dict[str, ed25519.Ed25519PublicKey] = {}

    def enrolled_key(self, terminal_id: str) -> tuple[Terminal | None, ed25519.Ed25519PublicKey | None]:
        """The terminal and the key it enrolled (active or revoked), else (terminal or None, None)."""
        terminal = self.store.terminal(terminal_id)
        if terminal is None or terminal.public_key is None:
            return terminal, None
        return terminal, self._keys.setdefault(terminal_id, ed25519_public(terminal.public_key))

    def serving(self, terminal_id: str) -> tuple[Terminal, ed25519.Ed25519PublicKey]:
        """The enrolled, active terminal and its public key; CentralError if it may not be served."""
        terminal, key = self.enrolled_key(terminal_id)
        if (refused := refusal(terminal_id, terminal)) is not None:
            raise refused
        assert terminal is not None and key is not None
        return terminal, key

    # --- enrollment ----------------------------------------------------------------------------

    def issue_code(self, terminal_id: str, *, valid_hours: float = 24.0) -> str:
        """A one-time code for an administrator to hand to the field agent installing the terminal."""
        match = TERMINAL_ID.fullmatch(terminal_id)
        if not match:
            raise CentralError("malformed", f"{terminal_id!r} is not a terminal id (T-<county>-<serial>)")
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
        expires_at = (datetime.now(UTC) + timedelta(hours=valid_hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for attempt in range(2):
            try:
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
                    self.store.add_enrollment_code(conn, enrollment.code_digest(code), terminal_id, expires_at)
            except IntegrityError:  # another code for this new terminal was issued at the same moment
                if attempt:
                    raise
                continue
            break
        return "-".join(code[i : i + 4] for i in range(0, 16, 4))

    def enroll(self, request: dict) -> dict:
        """Register a terminal's public key (POST /v1/enroll, sync/PROTOCOL.md section 5). Version 2:
        the terminal proves it knows a one-time code issued for it without sending it, and signs the
        request with the key it registers; the answer is signed over that key and the request's
        nonce. Version 1 (the code in clear, an answer that names no key) only where the service
        is configured to accept it. Repeating a successful enrollment is harmless."""
        self.check_version(request)
        return self._enroll_v2(request) if "v" in request else self._enroll_v1(request)

    def check_version(self, request: dict) -> None:
        """Refuse an enrollment of a version this service does not take: only the integer 2, or
        no `v` at all (version 1) where the service accepts version 1."""
        version = request.get("v")
        if version == enrollment.VERSION and type(version) is int:
            return
        if "v" not in request and self.accept_v1_enrollment:
            return
        raise CentralError(
            "unsupported_version", f"enrollment is version {enrollment.VERSION} here (\"v\": {enrollment.VERSION})"
        )

    def _enroll_v2(self, request: dict) -> dict:
        terminal_id, public_key = str(request["terminal_id"]), str(request["public_key"])
        nonce, proof = str(request.get("nonce") or ""), str(request.get("proof") or "")
        signed = enrollment.request_signed_bytes(terminal_id, public_key, nonce, proof)
        self._check_signature(public_key, str(request["sig"]), signed)
        if not nonce or not proof:
            raise CentralError("malformed", "a version 2 enrollment carries a nonce and a proof")

        def knows(digest: str) -> bool:
            return hmac.compare_digest(enrollment.proof(digest, terminal_id, public_key, nonce), proof)

        return self._complete(terminal_id, public_key, knows, lambda t, at: self._answer_v2(t, at, public_key, nonce))

    def _enroll_v1(self, request: dict) -> dict:
        terminal_id, public_key, code = str(request["terminal_id"]), str(request["public_key"]), str(request["code"])
        self._check_signature(public_key, str(request["sig"]), enrollment_request_bytes(terminal_id, public_key, code))
        wanted = enrollment.code_digest(code)
        return self._complete(terminal_id, public_key, lambda digest: digest == wanted, self._answer_v1)

    @staticmethod
    def _check_signature(public_key: str, signature: str, signed: bytes) -> None:
        try:
            ed25519_public(public_key).verify(base64.b64decode(signature, validate=True), signed)
        except (KeyFileError, InvalidSignature, ValueError):
            raise CentralError(
                "bad_signature", "the enrollment request is not signed by the key it carries", 403
            ) from None

    def _complete(
        self,
        terminal_id: str,
        public_key: str,
        knows: Callable[[str], bool],
        answer: Callable[[Terminal, str | None], dict],
    ) -> dict:
        """Enroll `public_key` for `terminal_id` with the code whose digest `knows` recognises."""
        with self.store.begin() as conn:
            terminal = self.store.lock_terminal(conn, terminal_id)
            codes = self.store.enrollment_codes_for(conn, terminal_id) if terminal else {}
            digest, issued = next(((d, c) for d, c in codes.items() if knows(d)), (None, None))
            if terminal is None or digest is None or issued is None:
                raise CentralError("code_unknown", "no enrollment code like this was issued for this terminal", 403)
            if terminal.status == "revoked":
                raise CentralError("terminal_revoked", f"{terminal_id} is revoked", 403)
            if issued.used_at is not None:
                if terminal.status == "active" and terminal.public_key == public_key:
                    return answer(terminal, terminal.enrolled_at)
                raise CentralError("code_used", "this enrollment code was used already; ask for a new one", 403)
            if issued.expires_at < now_iso():
                raise CentralError("code_expired", "this enrollment code has expired; ask for a new one", 403)
            if terminal.status == "active":
                raise CentralError("already_enrolled", f"{terminal_id} is enrolled with another key", 409)
            enrolled_at = now_iso()
            self.store.use_enrollment_code(conn, digest, enrolled_at)
            self.store.activate_terminal(conn, terminal_id, public_key, enrolled_at)
        return answer(terminal, enrolled_at)

    def _signer(self) -> ed25519.Ed25519PrivateKey:
        if self.signing_key is None:
            raise RuntimeError("this TerminalRegistry has no signing key; enrollment answers cannot be signed")
        return self.signing_key

    def _answer_v2(self, terminal: Terminal, enrolled_at: str | None, public_key: str, nonce: str) -> dict:
        signed = enrollment.answer_signed_bytes(terminal.terminal_id, terminal.county, "active", enrolled_at,
                                                public_key, nonce)  # fmt: skip
        body = {"v": enrollment.VERSION, "terminal_id": terminal.terminal_id, "county": terminal.county,
                "status": "active", "enrolled_at": enrolled_at, "public_key": public_key, "nonce": nonce}  # fmt: skip
        return {**body, "sig": base64.b64encode(self._signer().sign(signed)).decode()}

    def _answer_v1(self, terminal: Terminal, enrolled_at: str | None) -> dict:
        signed = enrollment_answer_bytes(terminal.terminal_id, terminal.county, "active", enrolled_at)
        body = {"county": terminal.county, "enrolled_at": enrolled_at, "status": "active",
                "terminal_id": terminal.terminal_id}  # fmt: skip
        return {**body, "sig": base64.b64encode(self._signer().sign(signed)).decode()}

    def revoke(self, terminal_id: str) -> None:
        with self.store.begin() as conn:
            if self.store.lock_terminal(conn, terminal_id) is None:
                raise CentralError("unknown_terminal", f"{terminal_id} was never enrolled", 404)
            self.store.revoke_terminal(conn, terminal_id)
        self._keys.pop(terminal_id, None)

    # --- signed requests ------------------------------------------------------------------------

    def authenticate(
        self,
        terminal_id: str,
        timestamp: str,
        signature: str,
        method: str,
        path: str,
        *,
        nonce: str | None = None,
        audit: str | None = None,
        now: float | None = None,
    ) -> Terminal:
        """The enrolled, active terminal that signed this request (method, path, time, nonce), or
        a CentralError. The signature is checked first, and every caller who cannot sign as an
        enrolled terminal (an unknown id, one not yet enrolled, a wrong key) gets the same answer,
        so nobody learns which terminals exist or their state; a terminal that signs learns it is
        revoked. The time must be within MAX_CLOCK_SKEW_S of ours (`clock_skew` tells the
        terminal to retry on our clock), and the nonce new for this terminal in that window
        (`replayed`): a request seen on the way cannot be sent again. A request without a nonce
        (wire version 1) only where the service was started to accept it."""
        if not TERMINAL_ID.fullmatch(terminal_id) or not re.fullmatch(r"[0-9]{1,12}", timestamp):
            raise UNAUTHENTICATED
        if nonce is not None and not re.fullmatch(NONCE_PATTERN, nonce):
            raise UNAUTHENTICATED
        if audit is not None and (nonce is None or not re.fullmatch(AUDIT_HEAD_PATTERN, audit)):
            raise UNAUTHENTICATED
        terminal = self.store.terminal(terminal_id)
        if terminal is None or terminal.public_key is None:
            raise UNAUTHENTICATED
        key = self._keys.setdefault(terminal_id, ed25519_public(terminal.public_key))
        try:
            key.verify(
                base64.b64decode(signature, validate=True),
                terminal_request_bytes(method, path, terminal_id, int(timestamp), nonce, audit),
            )
        except (InvalidSignature, ValueError):
            raise UNAUTHENTICATED from None
        if (refused := refusal(terminal_id, terminal)) is not None:
            raise refused
        if nonce is None and not self.accept_v1_requests:
            raise CentralError("nonce_required", "signed requests carry X-Terminal-Nonce (wire version 2)", 401)
        seconds = time.time() if now is None else now
        skew = int(timestamp) - seconds
        if abs(skew) > MAX_CLOCK_SKEW_S:
            raise CentralError("clock_skew", f"the terminal clock is {skew:+.0f} s off; use the Date header", 401)
        if nonce is not None and not self.store.remember_nonce(terminal_id, nonce, int(seconds), 2 * MAX_CLOCK_SKEW_S):
            raise CentralError("replayed", "this signed request was received before", 401)
        return terminal
