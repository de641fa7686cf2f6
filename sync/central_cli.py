"""`kiosk-central`: the central side's command line — keys, the sync service, terminal enrollment
and revocation, and the back-office export."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from sync.keys import KeyFileError, load_private_key, private_pem, public_b64, write_private_file

DB_HELP = "SQLite file path (default) or postgresql://user@host/db"


def _store(db: str):
    from sync.central.store import CentralStore

    return CentralStore(db)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


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


@main.command("serve")
@click.option("--db", required=True, help=DB_HELP)
@click.option("--signing-key", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(db: str, signing_key: Path, host: str, port: int, workers: int) -> None:
    """Run the sync service (HTTP; the OpenAPI document is at /openapi.json). It holds the receipt
    signing key only: the opening key stays with the back office."""
    import uvicorn

    from sync.central.app import DB_ENV, SIGNING_KEY_ENV

    try:
        load_private_key(signing_key, ed25519.Ed25519PrivateKey)
        _store(db).close()  # creates the tables once, before the workers start
    except KeyFileError as error:
        _fail(str(error))
    os.environ[DB_ENV], os.environ[SIGNING_KEY_ENV] = db, str(signing_key)
    uvicorn.run(
        "sync.central.app:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning"
    )


@main.command("enroll-code")
@click.option("--db", required=True, help=DB_HELP)
@click.option("--valid-hours", default=24.0, show_default=True, type=click.FloatRange(0.1, 24 * 14))
@click.argument("terminal_id")
def enroll_code(db: str, valid_hours: float, terminal_id: str) -> None:
    """Issue a one-time enrollment code for TERMINAL_ID (give it to the installing agent)."""
    from sync.central.ingest import CentralError, IngestService

    try:
        click.echo(IngestService(_store(db)).issue_code(terminal_id, valid_hours=valid_hours))
    except CentralError as error:
        _fail(error.message)


@main.command("revoke")
@click.option("--db", required=True, help=DB_HELP)
@click.argument("terminal_id")
def revoke(db: str, terminal_id: str) -> None:
    """Revoke a terminal: its envelopes are refused from now on (terminal_revoked)."""
    from sync.central.ingest import CentralError, IngestService

    try:
        IngestService(_store(db)).revoke(terminal_id)
    except CentralError as error:
        _fail(error.message)
    click.echo(f"{terminal_id} revoked")


@main.command("terminals")
@click.option("--db", required=True, help=DB_HELP)
def list_terminals(db: str) -> None:
    """Enrolled terminals as JSON lines: status, last sequence number, gaps seen, last contact."""
    store = _store(db)
    for terminal in store.all_terminals():
        record = asdict(terminal) | {"envelopes": store.envelope_count(terminal.terminal_id)}
        click.echo(json.dumps(record, sort_keys=True))


@main.command("open")
@click.option("--db", required=True, help=DB_HELP)
@click.option("--opening-key", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSON lines, appended")
def open_envelopes(db: str, opening_key: Path, out: Path) -> None:
    """Back office: open every envelope not yet exported, check its signature, append it to OUT."""
    from sync.central.backoffice import export_to_file

    try:
        key = load_private_key(opening_key, x25519.X25519PrivateKey)
    except KeyFileError as error:
        _fail(str(error))
    assert isinstance(key, x25519.X25519PrivateKey)
    report = export_to_file(_store(db), key, out)
    click.echo(json.dumps({"exported": report.exported, "failed": report.failed}))
    if report.failed:
        sys.exit(1)


@main.group("bundle")
def bundle() -> None:
    """Offline transfer: outbox bundles carried from terminals on a USB stick."""


@bundle.command("import")
@click.option("--db", required=True, help=DB_HELP)
@click.option("--signing-key", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--receipts", type=click.Path(dir_okay=False, path_type=Path), help="default: PATH.receipts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bundle_import(db: str, signing_key: Path, receipts: Path | None, path: Path) -> None:
    """Ingest an outbox bundle (same checks and idempotency as over HTTP) and write the receipts
    file that travels back to the terminal."""
    from sync.bundle import write_receipts
    from sync.central.ingest import CentralError, IngestService
    from sync.envelope import WireError

    try:
        key = load_private_key(signing_key, ed25519.Ed25519PrivateKey)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        outcomes = IngestService(_store(db), key).import_bundle(path)
    except (KeyFileError, WireError, CentralError) as error:
        _fail(f"{path}: {getattr(error, 'code', 'key')}: {getattr(error, 'message', error)}")
    receipts = receipts or path.with_name(path.name + ".receipts")
    write_receipts(receipts, [outcome.as_dict() for outcome in outcomes])
    counts = {status: sum(o.status == status for o in outcomes) for status in ("stored", "duplicate", "refused")}
    click.echo(json.dumps({"receipts": str(receipts), **counts}))


if __name__ == "__main__":
    main()
