"""The sync wire format, version 1: envelopes (terminal → central) and receipts (central →
terminal). `sync/PROTOCOL.md` is the specification; this module is its reference implementation.

An envelope carries routing metadata in the clear (authenticated, not secret), the application
sealed to the central opening key with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, AES-256-GCM) with the metadata bound in as `info`, and an Ed25519 signature by the
terminal over both. Whoever holds the terminal's public key can check an envelope; only the
holder of the central opening key can read it; the terminal itself cannot open what it sealed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from county_common.canonical_json import jcs, loads
from sync.keys import signer

WIRE_VERSION = 1
MAX_ENVELOPE_BYTES = 1 << 20  # 1 MiB: fields + portrait + one key frame fit with room to spare
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
SEAL_CONTEXT = b"county-terminal/envelope/v1/seal\x00"
SIGN_CONTEXT = b"county-terminal/envelope/v1/sign\x00"
RECEIPT_CONTEXT = b"county-terminal/receipt/v1\x00"
ENROLL_CONTEXT = b"county-terminal/enroll/v1\x00"
REQUEST_CONTEXT = b"county-terminal/request/v1\x00"
REQUEST_CONTEXT_V2 = b"county-terminal/request/v2\x00"
LISTING_CONTEXT = b"county-terminal/listing/v1\x00"
AUDIT_HEAD_PATTERN = r"[0-9]{1,15}:[0-9a-f]{64}"  # an audit chain's head as a terminal sends it: seq:mac
NONCE_PATTERN = r"[A-Za-z0-9_-]{22,64}"
MAX_CLOCK_SKEW_S = 300
META_KEYS = ("county", "created_at", "envelope_id", "schema", "seq", "terminal_id")
_PATTERNS = {
    "county": r"[0-9]{6}",
    "created_at": r"[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]{1,6})?Z",
    "envelope_id": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "schema": r"[a-z_]{1,32}/[0-9]{1,4}",
    "terminal_id": r"T-[0-9]{6}-[0-9]{4}",
}


class WireError(Exception):
    """An envelope or receipt that must be refused; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Meta:
    """Routing metadata: authenticated, readable by anyone on the way, never personal."""

    envelope_id: str
    terminal_id: str
    county: str
    seq: int
    created_at: str
    schema: str = "application/1"

    def canonical(self) -> bytes:
        """RFC 8785 (JCS) form. Every value is ASCII text or a small integer, so JCS reduces
        to: keys sorted, no whitespace."""
        return jcs(self.as_dict())

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in META_KEYS}

    @classmethod
    def new(cls, terminal_id: str, county: str, seq: int, *, schema: str = "application/1") -> Meta:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return cls(str(uuid.uuid4()), terminal_id, county, seq, now, schema)

    @classmethod
    def from_dict(cls, data: object) -> Meta:
        if not isinstance(data, dict) or set(data) != set(META_KEYS):
            raise WireError("malformed", f"meta must have exactly the keys {', '.join(META_KEYS)}")
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**53:
            raise WireError("malformed", "meta.seq must be an integer from 1 to 2^53-1")
        for key, pattern in _PATTERNS.items():
            if not isinstance(data[key], str) or not re.fullmatch(pattern, data[key]):
                raise WireError("malformed", f"meta.{key} is not in the required form")
        return cls(**data)


@dataclass(frozen=True)
class Envelope:
    meta: Meta
    sealed: bytes  # HPKE single-shot output: enc (32 bytes) || AES-256-GCM ciphertext and tag
    signature: bytes  # Ed25519 over SIGN_CONTEXT || len(meta) || meta || sealed
    wire: bytes  # the exact bytes as written by seal() or as received by parse()

    def to_bytes(self) -> bytes:
        return self.wire

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the exact wire bytes: what a receipt acknowledges."""
        return hashlib.sha256(self.wire).hexdigest()


def _signed_bytes(meta: bytes, sealed: bytes) -> bytes:
    return SIGN_CONTEXT + len(meta).to_bytes(4, "big") + meta + sealed


def seal(
    meta: Meta, plaintext: bytes, central_public: x25519.X25519PublicKey, terminal_key: ed25519.Ed25519PrivateKey
) -> Envelope:
    canonical = meta.canonical()
    sealed = SUITE.encrypt(plaintext, central_public, info=SEAL_CONTEXT + canonical)
    signature = terminal_key.sign(_signed_bytes(canonical, sealed))
    wire = jcs(
        {
            "v": WIRE_VERSION,
            "meta": meta.as_dict(),
            "sealed": base64.b64encode(sealed).decode(),
            "sig": base64.b64encode(signature).decode(),
        }
    )
    if len(wire) > MAX_ENVELOPE_BYTES:
        raise WireError("oversize", f"the envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
    return Envelope(meta, sealed, signature, wire)


def _b64(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise WireError("malformed", f"{name} must be base64 text")
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("malformed", f"{name} is not valid base64") from None
    if base64.b64encode(decoded).decode() != value:  # unused low bits set: another spelling of the same bytes
        raise WireError("malformed", f"{name} is not in canonical base64")
    return decoded


def parse(raw: bytes) -> Envelope:
    """Read wire bytes into an Envelope; no key needed, nothing verified yet."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise WireError("oversize", f"the envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        data = loads(raw)
    except ValueError:  # not UTF-8, not JSON, nested too deep
        raise WireError("malformed", "the envelope is not JSON (truncated or corrupted?)") from None
    if not isinstance(data, dict):
        raise WireError("malformed", "the envelope must be a JSON object")
    if data.get("v") != WIRE_VERSION or type(data.get("v")) is not int:  # true and 1.0 are not 1
        raise WireError("unsupported_version", f"wire version {data.get('v')!r} is not supported (only 1)")
    if set(data) != {"v", "meta", "sealed", "sig"}:
        raise WireError("malformed", "the envelope must have exactly the keys v, meta, sealed, sig")
    signature = _b64(data["sig"], "sig")
    if len(signature) != 64:
        raise WireError("malformed", "sig must be a 64-byte Ed25519 signature")
    sealed = _b64(data["sealed"], "sealed")
    if len(sealed) < 32 + 16:
        raise WireError("malformed", "sealed is too short to hold an HPKE encapsulation and a tag")
    meta = Meta.from_dict(data["meta"])
    if raw != jcs(data):  # one envelope, one byte string: no copy re-spaced or re-ordered by someone on the path
        raise WireError("malformed", "the envelope is not in canonical form (JCS: keys sorted, no whitespace)")
    return Envelope(meta, sealed, signature, raw)


def verify(envelope: Envelope, terminal_public: ed25519.Ed25519PublicKey) -> None:
    """Check the terminal's signature over metadata and sealed bytes (the ingest service's job)."""
    try:
        terminal_public.verify(envelope.signature, _signed_bytes(envelope.meta.canonical(), envelope.sealed))
    except InvalidSignature:
        raise WireError("bad_signature", "the signature does not match the terminal's enrolled key") from None


def open_sealed(envelope: Envelope, central_private: x25519.X25519PrivateKey) -> bytes:
    """Decrypt the application (the back office's job, with the opening key)."""
    try:
        return SUITE.decrypt(envelope.sealed, central_private, info=SEAL_CONTEXT + envelope.meta.canonical())
    except Exception:  # cryptography raises InvalidTag; any failure means the same thing here
        raise WireError("cannot_open", "the envelope does not open with this key, or was altered") from None


@dataclass(frozen=True)
class Receipt:
    """The central service's signed acknowledgement that it stored one envelope."""

    envelope_id: str
    terminal_id: str
    seq: int
    envelope_sha256: str
    stored_at: str
    signature: bytes = b""

    def _signed(self) -> bytes:
        body = {k: getattr(self, k) for k in ("envelope_id", "envelope_sha256", "seq", "stored_at", "terminal_id")}
        return RECEIPT_CONTEXT + jcs(body)

    def signed_by(self, key: ed25519.Ed25519PrivateKey) -> Receipt:
        return Receipt(**{**self.__dict__, "signature": key.sign(self._signed())})

    def as_dict(self) -> dict:
        return {
            **{k: v for k, v in self.__dict__.items() if k != "signature"},
            "sig": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Receipt:
        try:
            return cls(
                data["envelope_id"],
                data["terminal_id"],
                int(data["seq"]),
                data["envelope_sha256"],
                data["stored_at"],
                _b64(data["sig"], "sig"),
            )
        except (KeyError, TypeError, ValueError):
            raise WireError(
                "malformed", "a receipt needs envelope_id, terminal_id, seq, envelope_sha256, stored_at and sig"
            ) from None

    def verify_for(self, envelope: Envelope, central_keys: list[ed25519.Ed25519PublicKey]) -> None:
        """A terminal deletes an envelope only after this passes."""
        if (self.envelope_id, self.terminal_id, self.seq, self.envelope_sha256) != (
            envelope.meta.envelope_id,
            envelope.meta.terminal_id,
            envelope.meta.seq,
            envelope.digest,
        ):
            raise WireError("receipt_mismatch", "the receipt is for another envelope")
        if signer(central_keys, self.signature, self._signed()) is None:
            raise WireError("bad_signature", "the receipt is not signed by a central key this terminal trusts")


def enrollment_request_bytes(terminal_id: str, public_key: str, code: str) -> bytes:
    """What a terminal signs when it enrolls: proof that it holds the key it registers."""
    return ENROLL_CONTEXT + jcs({"code": code, "public_key": public_key, "terminal_id": terminal_id})


def enrollment_answer_bytes(terminal_id: str, county: str, status: str, enrolled_at: str | None) -> bytes:
    """What the central service signs in its answer, so the terminal knows it enrolled with the real one."""
    body = {"county": county, "enrolled_at": enrolled_at, "status": status, "terminal_id": terminal_id}
    return ENROLL_CONTEXT + jcs(body)


def terminal_request_bytes(
    method: str, path: str, terminal_id: str, timestamp: int, nonce: str | None = None, audit: str | None = None
) -> bytes:
    """What a terminal signs to fetch its updates: the request line, the time (unix seconds) and,
    from wire version 2, a nonce the service remembers for the time window, so that a request
    seen on the way cannot be sent again while its time is still accepted, and the head of the
    terminal's audit chain ("seq:mac") when it sends it."""
    body = {"method": method, "path": path, "terminal_id": terminal_id, "time": timestamp}
    if nonce is None:
        return REQUEST_CONTEXT + jcs(body)
    return REQUEST_CONTEXT_V2 + jcs({**body, "nonce": nonce, **({"audit": audit} if audit is not None else {})})


def listing_bytes(listing: dict) -> bytes:
    """What the service signs in its update listing: the terminal, the request's nonce, its own
    time, the updates and the highest audit head it has seen from the terminal. A listing that
    does not answer this very request (an old one kept back) does not verify."""
    return LISTING_CONTEXT + jcs(listing)


def new_nonce() -> str:
    """128 random bits, base64url without padding (22 characters)."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
