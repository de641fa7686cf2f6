"""Key files and public-key text, shared by the terminal and the central side.

Private keys live in files only their owner may read: created with mode 0600 and O_EXCL (never
overwritten), refused when group or others can read them. Public keys travel as standard base64
of their 32 raw bytes, as `sync/PROTOCOL.md` says.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

PrivateKey = ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey
PublicKey = ed25519.Ed25519PublicKey | x25519.X25519PublicKey


class KeyFileError(Exception):
    """A key file is missing, readable by others, or does not hold the expected key."""


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path` 0600 with `data`; FileExistsError if it exists (keys are never overwritten)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_private_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); it must be 0600")
    return path.read_bytes()


def private_pem(key: PrivateKey) -> bytes:
    encoding, form = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, form, serialization.NoEncryption())


def load_private_key(path: Path, kind: type[PrivateKey]) -> PrivateKey:
    """Read a PKCS#8 PEM private key of the given kind (Ed25519 or X25519) from a 0600 file."""
    try:
        key = serialization.load_pem_private_key(read_private_file(path), password=None)
    except ValueError:
        raise KeyFileError(f"{path} does not hold a PEM private key") from None
    if not isinstance(key, kind):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not a {kind.__name__}")
    return key


def load_or_create_signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """The terminal's Ed25519 identity: made on first start, read on every later one."""
    with contextlib.suppress(FileExistsError):
        write_private_file(path, private_pem(ed25519.Ed25519PrivateKey.generate()))
    key = load_private_key(path, ed25519.Ed25519PrivateKey)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


def public_b64(key: PrivateKey | PublicKey) -> str:
    public = key.public_key() if isinstance(key, PrivateKey) else key
    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def _raw32(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{what} is not base64") from None
    if len(raw) != 32:
        raise KeyFileError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def ed25519_public(text: str) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PublicKey.from_public_bytes(_raw32(text, "Ed25519 public key"))


def x25519_public(text: str) -> x25519.X25519PublicKey:
    return x25519.X25519PublicKey.from_public_bytes(_raw32(text, "X25519 public key"))


def key_id(key: ed25519.Ed25519PublicKey | x25519.X25519PublicKey) -> str:
    """A public key's short name for people (screens, status): the first 16 hex digits of the
    SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signer(keys: list[ed25519.Ed25519PublicKey], signature: bytes, data: bytes) -> ed25519.Ed25519PublicKey | None:
    """The first of `keys` whose Ed25519 signature over `data` `signature` is, or None."""
    for key in keys:
        try:
            key.verify(signature, data)
        except InvalidSignature:
            continue
        return key
    return None
