"""Offline transfer, for a county with no network at all: the outbox goes to the central service
on a USB stick as a bundle file, and the receipts come back the same way.

An outbox bundle is the queued envelopes, one per line exactly as stored, followed by one
manifest line signed by the terminal: `{"manifest": {...}, "sig": ...}` with the terminal id,
the count and the SHA-256 over the envelope lines. A bundle cut short (stick pulled out) or
edited fails the manifest check and is refused whole; each envelope is also checked on its own
at import, exactly as over HTTP, with the same idempotency. A receipts file is the central
service's results, one JSON object per line; each receipt carries its own central signature.
Files are written to a temporary name, fsynced and renamed, so a half-written file never has
the final name.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from county_common.canonical_json import jcs, loads
from sync.envelope import MAX_ENVELOPE_BYTES, Receipt, WireError
from sync.files import write_atomically

BUNDLE_KIND = "outbox-bundle/1"
RECEIPTS_KIND = "receipts/1"
BUNDLE_CONTEXT = b"county-terminal/outbox-bundle/v1\x00"
MAX_BUNDLE_BYTES = 2 << 30


def _lines_digest(lines: list[bytes]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class OutboxBundle:
    terminal_id: str
    created_at: str
    wires: list[bytes]


def write_outbox_bundle(path: Path, terminal_id: str, wires: list[bytes], key: ed25519.Ed25519PrivateKey) -> None:
    manifest = {
        "count": len(wires),
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "envelopes_sha256": _lines_digest(wires),
        "kind": BUNDLE_KIND,
        "terminal_id": terminal_id,
    }
    signature = key.sign(BUNDLE_CONTEXT + jcs(manifest))
    trailer = jcs({"manifest": manifest, "sig": base64.b64encode(signature).decode()})
    write_atomically(path, (line + b"\n" for line in [*wires, trailer]))


def read_outbox_bundle(path: Path) -> tuple[OutboxBundle, dict, bytes]:
    """Split a bundle into its envelopes and its manifest (not yet verified: see verify_bundle)."""
    if path.stat().st_size > MAX_BUNDLE_BYTES:
        raise WireError("oversize", f"{path} is larger than {MAX_BUNDLE_BYTES} bytes")
    lines = path.read_bytes().split(b"\n")
    if not lines or lines[-1] != b"" or len(lines) < 2:
        raise WireError("truncated", f"{path} does not end with a manifest line: the copy was cut short")
    lines.pop()
    try:
        trailer = loads(lines[-1])
        manifest, signature = trailer["manifest"], base64.b64decode(trailer["sig"], validate=True)
        terminal_id, count = str(manifest["terminal_id"]), int(manifest["count"])
    except (ValueError, KeyError, TypeError):
        raise WireError("truncated", f"{path} has no valid manifest line: the copy was cut short or edited") from None
    wires = lines[:-1]
    if manifest.get("kind") != BUNDLE_KIND:
        raise WireError("unsupported_version", f"{path} is a {manifest.get('kind')!r}, not a {BUNDLE_KIND}")
    if count != len(wires) or manifest.get("envelopes_sha256") != _lines_digest(wires):
        raise WireError("truncated", f"{path} does not hold the {count} envelopes its manifest lists")
    if any(len(w) > MAX_ENVELOPE_BYTES for w in wires):
        raise WireError("oversize", f"{path} holds an envelope larger than {MAX_ENVELOPE_BYTES} bytes")
    return OutboxBundle(terminal_id, str(manifest.get("created_at")), wires), manifest, signature


def verify_bundle(manifest: dict, signature: bytes, terminal_public: ed25519.Ed25519PublicKey) -> None:
    try:
        terminal_public.verify(signature, BUNDLE_CONTEXT + jcs(manifest))
    except InvalidSignature:
        raise WireError("bad_signature", "the bundle manifest is not signed by the terminal's enrolled key") from None


def write_receipts(path: Path, results: list[dict]) -> None:
    header = jcs({"count": len(results), "kind": RECEIPTS_KIND})
    write_atomically(path, (line + b"\n" for line in [header, *(jcs(r) for r in results)]))


def read_receipts(path: Path) -> list[Receipt]:
    """The receipts in a receipts file (each still to be verified against its envelope)."""
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    try:
        header = loads(lines[0])
        results = [loads(line) for line in lines[1:]]
    except (ValueError, IndexError):
        raise WireError("malformed", f"{path} is not a receipts file") from None
    if not isinstance(header, dict) or header.get("kind") != RECEIPTS_KIND:
        raise WireError("unsupported_version", f"{path} is not a {RECEIPTS_KIND} file")
    return [Receipt.from_dict(r["receipt"]) for r in results if isinstance(r, dict) and r.get("receipt")]
