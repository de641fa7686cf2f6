"""The terminal data key (32 random bytes in a file only the kiosk user may read) and the
AES-256-GCM cipher that encrypts drafts and records at rest."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.keys import KeyFileError, read_private_file, write_private_file

KEY_BYTES = 32
NONCE_BYTES = 12


class DataKeyError(Exception):
    """The data key file is missing, unreadable, the wrong size or readable by others."""


class DecryptionError(Exception):
    """A stored record does not decrypt: wrong key, or the bytes were changed."""


def load_or_create_data_key(path: Path) -> bytes:
    """Read the key; on first run create it with mode 0600 (never overwriting an existing file)."""
    with contextlib.suppress(FileExistsError):
        write_private_file(path, secrets.token_bytes(KEY_BYTES))
    try:
        key = read_private_file(path)
    except KeyFileError as error:
        raise DataKeyError(str(error)) from None
    if len(key) != KEY_BYTES:
        raise DataKeyError(f"{path} holds {len(key)} bytes, not a {KEY_BYTES}-byte key")
    return key


def derive_subkey(key: bytes, purpose: bytes) -> bytes:
    """An independent key for one purpose (HKDF-SHA256), so one key never serves two uses."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(key)


class DataCipher:
    """AES-256-GCM with a fresh random nonce per record; `aad` binds a ciphertext to its row."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(derive_subkey(key, b"county-terminal/vault/v1"))

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce, self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise DecryptionError("record does not decrypt: wrong data key or altered bytes") from None
