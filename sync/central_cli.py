"""`kiosk-central`: the central side's command line (key generation now; the sync service,
the back-office opener and bundle import come with the sync issue)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519


def _raw_public(key: x25519.X25519PrivateKey | ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _write_private(path: Path, key: x25519.X25519PrivateKey | ed25519.Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


@click.group()
def main() -> None:
    """Central sync service for county terminals."""


@main.command("keygen")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def keygen(directory: Path) -> None:
    """Make the opening key (X25519, back office only) and the signing key (Ed25519) in DIRECTORY,
    and print the public halves as the terminal config's [central] section carries them."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    opening, signing = x25519.X25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    try:
        _write_private(directory / "opening_key.pem", opening)
        _write_private(directory / "signing_key.pem", signing)
    except FileExistsError as error:
        raise click.ClickException(f"{error.filename} exists; keys are never overwritten") from None
    click.echo("[central]")
    click.echo(f'hpke_public_key = "{_raw_public(opening)}"')
    click.echo(f'signing_public_keys = ["{_raw_public(signing)}"]')


if __name__ == "__main__":
    main()
