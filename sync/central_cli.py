"""`kiosk-central`: the central side's command line — keys, the sync service, terminal enrollment
and revocation, and the back-office export."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import click
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from sync.keys import KeyFileError, load_private_key, private_pem, public_b64, write_private_file

DB_HELP = "SQLite file path (default) or postgresql://user@host/db"


def _store(db: str):
    from sync.central.store import CentralStore

    return CentralStore(db)


def _fail(message: str) -> NoReturn:
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
@click.option(
    "--accept-v1-enrollment",
    is_flag=True,
    help="Also enrol terminals that send the code in clear (wire version 1), while they are updated.",
)
@click.option(
    "--accept-v1-requests",
    is_flag=True,
    help="Also take signed update requests without a nonce (wire version 1), while terminals are updated.",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Serve HTTPS with this PEM certificate (chain); terminals pin it or its CA.")  # fmt: skip
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The certificate's PEM private key (0600).")  # fmt: skip
@click.option("--docs", is_flag=True, help="Serve the interactive /docs and /redoc pages (development only).")
@click.option("--max-connections", default=512, show_default=True, type=click.IntRange(4, 100_000),
              help="Connections and requests at once, per worker; more are answered 503.")  # fmt: skip
@click.option("--body-stall", default=10.0, show_default=True, type=click.FloatRange(0.5, 300),
              help="Seconds a request body may send nothing before it is refused (408).")  # fmt: skip
def serve(
    db: str,
    signing_key: Path,
    host: str,
    port: int,
    workers: int,
    accept_v1_enrollment: bool,
    accept_v1_requests: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    docs: bool,
    max_connections: int,
    body_stall: float,
) -> None:
    """Run the sync service (HTTP; the OpenAPI document is at /openapi.json). It holds the receipt
    signing key only: the opening key stays with the back office."""
    import uvicorn

    from sync.central.app import (
        ACCEPT_V1_ENROLLMENT_ENV,
        ACCEPT_V1_REQUESTS_ENV,
        BODY_STALL_ENV,
        DB_ENV,
        DOCS_ENV,
        SIGNING_KEY_ENV,
    )

    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together")
    if tls_cert is None and host not in ("127.0.0.1", "::1", "localhost"):
        _fail(f"plain HTTP only on loopback, not {host}: give --tls-cert and --tls-key (terminals pin the certificate)")
    try:
        load_private_key(signing_key, ed25519.Ed25519PrivateKey)
        _store(db).close()  # creates the tables once, before the workers start
    except KeyFileError as error:
        _fail(str(error))
    os.environ[DB_ENV], os.environ[SIGNING_KEY_ENV] = db, str(signing_key)
    os.environ[ACCEPT_V1_ENROLLMENT_ENV] = "1" if accept_v1_enrollment else "0"
    os.environ[ACCEPT_V1_REQUESTS_ENV] = "1" if accept_v1_requests else "0"
    os.environ[DOCS_ENV] = "1" if docs else "0"
    os.environ[BODY_STALL_ENV] = str(body_stall)
    uvicorn.run(
        "sync.central.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        limit_concurrency=max_connections,  # beyond it: 503, instead of running out of file descriptors
        timeout_keep_alive=5,  # an idle kept-alive connection is closed after 5 s
        h11_max_incomplete_event_size=16 << 10,  # request line and headers: 16 KiB at most
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )


@main.command("enroll-code")
@click.option("--db", required=True, help=DB_HELP)
@click.option("--valid-hours", default=24.0, show_default=True, type=click.FloatRange(0.1, 24 * 14))
@click.argument("terminal_id")
def enroll_code(db: str, valid_hours: float, terminal_id: str) -> None:
    """Issue a one-time enrollment code for TERMINAL_ID (give it to the installing agent)."""
    from sync.central.errors import CentralError
    from sync.central.terminals import TerminalRegistry

    try:
        click.echo(TerminalRegistry(_store(db)).issue_code(terminal_id, valid_hours=valid_hours))
    except CentralError as error:
        _fail(error.message)


@main.command("revoke")
@click.option("--db", required=True, help=DB_HELP)
@click.argument("terminal_id")
def revoke(db: str, terminal_id: str) -> None:
    """Revoke a terminal: its envelopes are refused from now on (terminal_revoked)."""
    from sync.central.errors import CentralError
    from sync.central.terminals import TerminalRegistry

    try:
        TerminalRegistry(_store(db)).revoke(terminal_id)
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
    click.echo(json.dumps({"exported": report.exported, "failed": report.failed, "refused": report.refused}))
    if report.failed or report.refused:
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
    from sync.central.errors import CentralError
    from sync.central.ingest import IngestService
    from sync.envelope import WireError

    key = _signing_key(signing_key)
    try:
        outcomes = IngestService(_store(db), key).import_bundle(path)
    except (WireError, CentralError) as error:
        _fail(f"{path}: {error.code}: {error.message}")
    receipts = receipts or path.with_name(path.name + ".receipts")
    write_receipts(receipts, [outcome.as_dict() for outcome in outcomes])
    counts = {status: sum(o.status == status for o in outcomes) for status in ("stored", "duplicate", "refused")}
    click.echo(json.dumps({"receipts": str(receipts), **counts}))


def _signing_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = load_private_key(path, ed25519.Ed25519PrivateKey)
    except KeyFileError as error:
        _fail(str(error))
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key


@main.group("update")
def update() -> None:
    """Downstream updates for the terminals: config, blocklist, agent roster, model; signed."""


AUDIENCE_HELP = "* (every terminal, the default), a county code or a terminal id; repeat for several"


def _publish(db: str, signing_key: Path, kind: str, files: dict[str, bytes], audience: tuple[str, ...], out):
    from sync.central.errors import CentralError
    from sync.central.updates import UpdateService
    from sync.files import write_atomically

    service = UpdateService(_store(db), _signing_key(signing_key))
    try:
        published, body = service.publish(kind, files, list(audience) or ["*"])
    except CentralError as error:
        _fail(f"{error.code}: {error.message}")
    if out is not None:
        write_atomically(out, [body])
    click.echo(json.dumps(published.as_dict() | {"out": str(out) if out else None}, ensure_ascii=False))


def _publish_options(command):
    for option in reversed(
        [
            click.option("--db", required=True, help=DB_HELP),
            click.option("--signing-key", required=True, type=click.Path(dir_okay=False, path_type=Path)),
            click.option("--audience", multiple=True, help=AUDIENCE_HELP),
            click.option(
                "--out", type=click.Path(dir_okay=False, path_type=Path), help="also write the update here (USB)"
            ),
        ]
    ):
        command = option(command)
    return command


@update.command("publish")
@_publish_options
@click.argument("kind", type=click.Choice(["config", "roster", "model"]))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def update_publish(db, signing_key, audience, out, kind: str, files: tuple[Path, ...]) -> None:
    """Sign FILES as the next KIND update: config.toml (config), roster.json (roster), or
    model_card.json and the files it lists (model). The content is checked as a terminal would."""
    _publish(db, signing_key, kind, {path.name: path.read_bytes() for path in files}, audience, out)


@update.command("blocklist")
@_publish_options
@click.option("--id-numbers", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="one per line")
@click.option("--phones", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="one per line")
def update_blocklist(db, signing_key, audience, out, id_numbers: Path | None, phones: Path | None) -> None:
    """Publish a blocklist: the numbers are sent only as HMAC-SHA256 digests, under a fresh key."""
    from sync.central.blocklist import make_blocklist_files

    def lines(path: Path | None) -> list[str]:
        return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()] if path else []

    _publish(db, signing_key, "blocklist", make_blocklist_files(lines(id_numbers), lines(phones)), audience, out)


@update.command("list")
@click.option("--db", required=True, help=DB_HELP)
def update_list(db: str) -> None:
    """Every published update as JSON lines, oldest first."""
    from sync.central.updates import UpdateService

    for published in UpdateService(_store(db)).all_published():
        click.echo(json.dumps(published.as_dict()))


if __name__ == "__main__":
    main()
