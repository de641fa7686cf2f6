"""`kiosk-central`: the central side's command line (key generation now; the sync service,
the back-office opener and bundle import come with the sync issue)."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from sync.keys import private_pem, public_b64, write_private_file


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
        write_private_file(directory / "opening_key.pem", private_pem(opening))
        write_private_file(directory / "signing_key.pem", private_pem(signing))
    except FileExistsError as error:
        raise click.ClickException(f"{error.filename} exists; keys are never overwritten") from None
    click.echo("[central]")
    click.echo(f'hpke_public_key = "{public_b64(opening)}"')
    click.echo(f'signing_public_keys = ["{public_b64(signing)}"]')


if __name__ == "__main__":
    main()
