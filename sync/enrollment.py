"""Enrollment on the wire, version 2 (sync/PROTOCOL.md section 5): a terminal registers its
Ed25519 key with a one-time code it never sends. It proves it knows the code with a MAC over its
terminal id, its public key and a fresh nonce, keyed by the code's SHA-256 (what the central
store keeps), and signs the request with the key it registers. The central answer is signed over
the key it enrolled and the request's nonce, so a terminal that receives an answer for another
key, or for another request, knows it is not enrolled. Whoever watches the request learns
neither the code nor anything that enrolls another key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

from cryptography.hazmat.primitives.asymmetric import ed25519

from county_common.canonical_json import jcs
from sync.envelope import WireError
from sync.keys import public_b64, signer

VERSION = 2
REQUEST_CONTEXT = b"county-terminal/enroll/v2/request\x00"
PROOF_CONTEXT = b"county-terminal/enroll/v2/proof\x00"
ANSWER_CONTEXT = b"county-terminal/enroll/v2/answer\x00"
NONCE_BYTES = 16


def normalise_code(code: str) -> str:
    """As typed: case, spaces and dashes do not matter."""
    return re.sub(r"[\s-]", "", code).upper()


def code_digest(code: str) -> str:
    """The code's SHA-256 (hex), which is all the central store keeps of it and the proof's key."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def proof(digest: str, terminal_id: str, public_key: str, nonce: str) -> str:
    """Base64 HMAC-SHA256, keyed by the code's digest, over the terminal id, key and nonce."""
    body = jcs({"nonce": nonce, "public_key": public_key, "terminal_id": terminal_id})
    return base64.b64encode(hmac.new(bytes.fromhex(digest), PROOF_CONTEXT + body, hashlib.sha256).digest()).decode()


def request_signed_bytes(terminal_id: str, public_key: str, nonce: str, proof_b64: str) -> bytes:
    body = {"nonce": nonce, "proof": proof_b64, "public_key": public_key, "terminal_id": terminal_id}
    return REQUEST_CONTEXT + jcs(body)


def answer_signed_bytes(
    terminal_id: str, county: str, status: str, enrolled_at: str | None, public_key: str, nonce: str
) -> bytes:
    body = {"county": county, "enrolled_at": enrolled_at, "nonce": nonce, "public_key": public_key,
            "status": status, "terminal_id": terminal_id}  # fmt: skip
    return ANSWER_CONTEXT + jcs(body)


def build_request(terminal_id: str, signing_key: ed25519.Ed25519PrivateKey, code: str) -> dict:
    """The body of POST /v1/enroll: the code itself is not in it."""
    public_key = public_b64(signing_key)
    nonce = base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode()
    made = proof(code_digest(code), terminal_id, public_key, nonce)
    signature = signing_key.sign(request_signed_bytes(terminal_id, public_key, nonce, made))
    return {"v": VERSION, "terminal_id": terminal_id, "public_key": public_key, "nonce": nonce, "proof": made,
            "sig": base64.b64encode(signature).decode()}  # fmt: skip


def check_answer(answer: dict, request: dict, central_keys: list[ed25519.Ed25519PublicKey]) -> dict:
    """The answer's fields if a trusted central key signed them for this very request (its key,
    its nonce); else WireError: the terminal is not enrolled, whatever the answer says."""
    fields = ("terminal_id", "county", "status", "enrolled_at", "public_key", "nonce")
    body = {k: answer.get(k) for k in fields}
    if not all(isinstance(body[k], str) for k in ("terminal_id", "county", "status", "public_key", "nonce")):
        raise WireError("bad_response", "the enrollment answer lacks a field")
    try:
        signature = base64.b64decode(str(answer.get("sig", "")), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if signer(central_keys, signature, answer_signed_bytes(**body)) is None:
        raise WireError("bad_signature", "the enrollment answer is not signed by a central key this terminal trusts")
    if body["terminal_id"] != request["terminal_id"] or body["public_key"] != request["public_key"]:
        raise WireError("enrollment_hijacked", "the central service enrolled another key for this terminal id")
    if body["nonce"] != request["nonce"] or body["status"] != "active":
        raise WireError("bad_response", "the enrollment answer is not for this request")
    return body
