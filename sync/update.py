"""Downstream update bundles: config, blocklist, agent roster and model, from the central service
to the terminals, signed by a central Ed25519 key.

An update is one byte string (an HTTP body or a file on a USB stick):

    county-terminal-update/1\\n
    {"manifest": {...}, "sig": "<base64 Ed25519>"}\\n
    <file 1 bytes><file 2 bytes>...

The manifest names the kind, a version (an integer that only ever grows per kind), the audience
(`*`, county codes or terminal ids), the issue time and each file's name, size and SHA-256, in
the order the file bytes follow. The signature is over UPDATE_CONTEXT || JCS(manifest). Nothing
is trusted before the signature and every file's digest check out.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ed25519

from county_common.canonical_json import jcs, loads
from sync.envelope import WireError
from sync.keys import signer

MAGIC = b"county-terminal-update/1\n"
UPDATE_CONTEXT = b"county-terminal/update/v1\x00"
KINDS = ("config", "blocklist", "roster", "model")
MAX_UPDATE_BYTES = 64 << 20  # a model bundle is a few MB; config, roster and blocklist far less
MAX_HEADER_BYTES = 64 << 10
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_AUDIENCE = re.compile(r"\*|[0-9]{6}|T-[0-9]{6}-[0-9]{4}")


@dataclass(frozen=True)
class Update:
    kind: str
    version: int
    issued_at: str
    audience: tuple[str, ...]
    files: dict[str, bytes]
    manifest: dict
    signature: bytes
    raw: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    def addressed_to(self, terminal_id: str, county: str) -> bool:
        return "*" in self.audience or terminal_id in self.audience or county in self.audience

    def verify(self, central_keys: list[ed25519.Ed25519PublicKey]) -> ed25519.Ed25519PublicKey:
        """The central key that signed it (WireError bad_signature if none of `central_keys` did)."""
        key = signer(central_keys, self.signature, UPDATE_CONTEXT + jcs(self.manifest))
        if key is None:
            trusted = "a central key this terminal trusts"
            raise WireError("bad_signature", f"the {self.kind} update is not signed by {trusted}")
        return key

    def describe(self) -> dict:
        return {"kind": self.kind, "version": self.version, "issued_at": self.issued_at, "sha256": self.sha256}


def build_update(
    kind: str,
    version: int,
    files: dict[str, bytes],
    key: ed25519.Ed25519PrivateKey,
    *,
    audience: list[str] | tuple[str, ...] = ("*",),
    issued_at: str | None = None,
) -> bytes:
    """Sign and lay out an update (the central side's half)."""
    manifest = {
        "audience": list(audience),
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in files.items()
        ],
        "issued_at": issued_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": kind,
        "version": version,
    }
    _check_manifest(manifest)  # never sign what a terminal would refuse
    signature = key.sign(UPDATE_CONTEXT + jcs(manifest))
    header = jcs({"manifest": manifest, "sig": base64.b64encode(signature).decode()})
    return b"".join([MAGIC, header, b"\n", *files.values()])


def parse_update(raw: bytes) -> Update:
    """Split an update into its manifest and files, checking sizes and digests; the signature is
    checked by Update.verify."""
    if len(raw) > MAX_UPDATE_BYTES:
        raise WireError("oversize", f"an update is at most {MAX_UPDATE_BYTES} bytes, this one is {len(raw)}")
    if not raw.startswith(MAGIC):
        if raw.startswith(b"county-terminal-update/"):
            raise WireError("unsupported_version", "this update's format version is newer than this software")
        raise WireError("malformed", "not a county-terminal update")
    end = raw.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER_BYTES)
    if end < 0:
        raise WireError("malformed", "the update header is missing or too long")
    try:
        header = loads(raw[len(MAGIC) : end])
        manifest = header["manifest"]
        signature = base64.b64decode(header["sig"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise WireError("malformed", "the update header is not {manifest, sig}") from None
    _check_manifest(manifest)
    body = memoryview(raw)[end + 1 :]
    if len(body) != sum(f["size"] for f in manifest["files"]):
        raise WireError("truncated", "the update's files are not the size its manifest says: cut short or padded")
    files: dict[str, bytes] = {}
    offset = 0
    for entry in manifest["files"]:
        data = bytes(body[offset : offset + entry["size"]])
        offset += entry["size"]
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise WireError("bad_digest", f"file {entry['name']} does not match its digest in the manifest")
        files[entry["name"]] = data
    return Update(
        kind=manifest["kind"],
        version=manifest["version"],
        issued_at=manifest["issued_at"],
        audience=tuple(manifest["audience"]),
        files=files,
        manifest=manifest,
        signature=signature,
        raw=raw,
    )


def _check_manifest(manifest: object) -> None:
    def bad(message: str) -> WireError:
        return WireError("malformed", f"update manifest: {message}")

    if not isinstance(manifest, dict) or set(manifest) != {"audience", "files", "issued_at", "kind", "version"}:
        raise bad("needs exactly audience, files, issued_at, kind, version")
    if manifest["kind"] not in KINDS:
        raise bad(f"kind must be one of {', '.join(KINDS)}")
    version = manifest["version"]
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version < 2**53:
        raise bad("version must be an integer from 1 to 2^53-1")
    if not isinstance(manifest["issued_at"], str) or not re.fullmatch(
        r"[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z", manifest["issued_at"]
    ):
        raise bad("issued_at must be YYYY-MM-DDTHH:MM:SSZ")
    audience = manifest["audience"]
    if not isinstance(audience, list) or not audience:
        raise bad("audience must be a non-empty list")
    if not all(isinstance(a, str) and _AUDIENCE.fullmatch(a) for a in audience):
        raise bad("audience entries are *, county codes or terminal ids")
    files = manifest["files"]
    if not isinstance(files, list) or not files:
        raise bad("files must be a non-empty list")
    names = set()
    for entry in files:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"name", "sha256", "size"}
            or not isinstance(entry["name"], str)
            or not _FILE_NAME.fullmatch(entry["name"])
            or not isinstance(entry["size"], int)
            or isinstance(entry["size"], bool)
            or not 0 <= entry["size"] <= MAX_UPDATE_BYTES
            or not isinstance(entry["sha256"], str)
            or not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        ):
            raise bad("each file is {name (lower-case, no path), size, sha256 (hex)}")
        if entry["name"] in names:
            raise bad(f"file {entry['name']} is listed twice")
        names.add(entry["name"])
