"""Writing files so that a crash or a pulled USB stick never leaves a half-written file under
the final name, and nobody else's file is touched: a new temporary file under an unpredictable
name (created exclusively, owner-only), fsync, rename over the final name (a symbolic link
planted there is replaced, never followed), fsync the directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomically(path: Path, chunks: Iterable[bytes], *, mode: int = 0o600) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with open(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def owner_only_file(path: Path) -> None:
    """`path` readable and writable by its owner only, made empty now if new (a database: SQLite
    gives its -wal and -shm files the same permissions); an existing one made by an older version
    is tightened. A link is not followed."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        if path.is_file() and not path.is_symlink() and path.stat().st_uid == os.getuid():
            path.chmod(0o600)


def owner_only_dir(path: Path) -> None:
    """`path` a directory only its owner can enter (made if new, tightened if it was made wider)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.is_symlink() and path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)
