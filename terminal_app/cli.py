"""`kiosk`: the terminal's command line. Each command calls the same core functions the UI uses.

Exit codes: 0 done / valid, 1 unexpected failure, 2 invalid input (config, ID number, request,
a file that is not an image), 3 the central service could not be reached or refused (enroll,
sync; nothing was lost), or the ID card could not be read (idcard read, idcard capture), or
the liveness input could not be used; 4 the liveness check ran and failed.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from datetime import date
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import click

from kiosk_config import ConfigError, load_config
from sync.envelope import WireError
from terminal_app.core.agents import LoginError, hash_pin
from terminal_app.core.id_number import validate_id_number
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.offer import OfferRefused, make_offer
from terminal_app.core.sync_client import SyncBusy

EXIT_INVALID = 2
EXIT_UNSYNCED = 3  # the central service could not be reached or refused; nothing was lost
EXIT_NOT_READ = 3  # the ID card could not be read (or what was read is not valid); liveness input unusable
EXIT_LIVENESS_FAILED = 4  # the liveness check ran and did not pass
EXIT_STOPPED = 4  # `kiosk apply`: the session stopped at a check (the step and reason are printed)


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _start(ctx: click.Context, *, runs_sessions: bool = False) -> Kiosk:
    """The kiosk for one command. Only a command that takes applications (`runs_sessions`) wipes
    the drafts a crash left: any other (status, sync, a USB export) may run beside the kiosk app
    while an applicant's session is under way."""
    try:
        return Kiosk.start(ctx.obj["config"], ctx.obj["data_dir"], runs_sessions=runs_sessions)
    except ConfigError as error:
        _fail(f"the kiosk will not start on an invalid config.\n{error}")


PLUGIN_GROUP = "county_terminal.commands"  # commands other installed packages add (the demo)
NOT_INSTALLED = {
    "demo": "the demo and its synthetic applicants are not part of a terminal install. On a development "
    "machine, from the repository: ./run demo (it installs the development package, pip install -e '.[dev]')",
}


class KioskCommands(click.Group):
    """The kiosk's own commands, and those installed packages add under PLUGIN_GROUP, loaded only
    when asked for; a known command whose package is not installed says what to install."""

    def _plugins(self) -> dict[str, metadata.EntryPoint]:
        return {entry.name: entry for entry in metadata.entry_points(group=PLUGIN_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if (command := super().get_command(ctx, name)) is not None:
            return command
        if (entry := self._plugins().get(name)) is not None:
            try:
                return entry.load()
            except ImportError:  # declared, but its package is gone: say what to install, as below
                pass
        if name in NOT_INSTALLED:
            return click.Command(
                name,
                callback=lambda: _fail(NOT_INSTALLED[name]),
                help=NOT_INSTALLED[name],
                context_settings={"ignore_unknown_options": True, "allow_extra_args": True},  # whatever it was given
            )
        return None


@click.group(cls=KioskCommands)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: $KIOSK_CONFIG, else the embedded default).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Vault directory (default: $KIOSK_DATA_DIR, else ~/.local/share/county-terminal).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, data_dir: Path | None) -> None:
    """County service terminal: offline loan applications."""
    ctx.obj = {"config": config_path, "data_dir": data_dir}


# --- the kiosk app ------------------------------------------------------------------------------


@main.command("ui")
@click.option("--windowed", is_flag=True, help="A window with a frame and a cursor, Escape closes it (development).")
@click.option("--camera", "camera", default="device", show_default=True,
              help="device: the terminal's camera ([camera]); synthetic: the demo's applicants, where installed.")
@click.option("--offscreen", is_flag=True, help="Draw without a display (SDL's offscreen driver).")
@click.pass_context
def ui(ctx: click.Context, windowed: bool, camera: str, offscreen: bool) -> None:
    """Open the kiosk: the applicant's touchscreen app, full screen. Refuses to start on an invalid
    config, without a font that draws Chinese, or with a camera kind this install lacks."""
    from terminal_app.capture.cameras import UnknownCamera
    from terminal_app.ui.environment import NoCjkFont
    from terminal_app.ui.launch import open_kiosk_app

    try:
        opened = open_kiosk_app(ctx.obj["config"], ctx.obj["data_dir"], camera=camera, windowed=windowed,
                                offscreen=offscreen)  # fmt: skip
    except ConfigError as error:
        _fail(f"the kiosk will not start on an invalid config.\n{error}")
    except NoCjkFont as error:
        _fail(f"the kiosk will not start: {error}")
    except UnknownCamera as error:
        _fail(f"the kiosk will not start: {error}")
    try:
        opened.app.run()  # type: ignore[attr-defined]
    finally:
        opened.close()


# --- config ---------------------------------------------------------------------------------


@main.group()
def config() -> None:
    """Check configuration files."""


@config.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def config_check(path: Path) -> None:
    """Validate PATH: every invalid field by name (exit 2), or a summary (exit 0)."""
    try:
        cfg = load_config(path)
    except ConfigError as error:
        click.echo(f"{path}: invalid", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_INVALID)
    cat = cfg.catalogue
    click.echo(f"{path}: valid")
    click.echo(f"  terminal {cfg.terminal.id}, county {cfg.terminal.county}, central {cfg.central.url}")
    click.echo(f"  line {cat.min_line}-{cat.max_line} {cat.currency}, terms {cat.terms}")
    click.echo(f"  base rate {cat.base_annual_rate}, good-customer discount {cat.good_customer_discount}")
    click.echo(f"  bands {', '.join(f'{b.name}>={b.min_score}:{b.max_limit}' for b in cat.bands)}")
    click.echo(f"  purposes {', '.join(p.code + ('*' if p.green else '') for p in cat.purposes)} (* green)")
    click.echo(f"  idle timeout {cfg.terminal.idle_timeout_s}s, languages {cfg.terminal.languages}")


# --- idcard ---------------------------------------------------------------------------------


@main.group()
def idcard() -> None:
    """Resident ID card numbers and cards."""


@idcard.command("check")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Check ages as of this date.")
@click.pass_context
def idcard_check(ctx: click.Context, number: str, as_json: bool, today) -> None:
    """Validate an 18-character ID number (exit 0 valid, 2 invalid)."""
    try:
        identity = load_config(ctx.obj["config"]).identity
    except ConfigError as error:
        _fail(str(error))
    check = validate_id_number(
        number, today=today.date() if today else date.today(), min_age=identity.min_age, max_age=identity.max_age
    )
    if as_json:
        _print_json(check.as_json())
    else:
        click.echo(f"{'valid' if check.valid else 'INVALID'}: {check.reason}")
        if check.birth_date:
            click.echo(f"  birth {check.birth_date}, sex {check.sex}, region {check.region.full_name}")
        for warning in check.warnings:
            click.echo(f"  note: {warning}")
    sys.exit(0 if check.valid else EXIT_INVALID)


@idcard.command("read")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Check validity as of this date.")
@click.option("--portrait", type=click.Path(dir_okay=False, path_type=Path), help="Write the photo area here (JPEG).")
def idcard_read(image: Path, as_json: bool, today, portrait: Path | None) -> None:
    """Read an ID card photo or scan on the device: side, fields, validation, quality, timings.
    Exit 0 when every field was read and is valid, 3 when the card could not be read (the
    reasons are printed), 2 when the file is not a usable image."""
    from terminal_app.capture.reader import ImageRejected, decode_image, read_card

    try:
        frame = decode_image(image.read_bytes())
    except ImageRejected as rejected:
        if as_json:
            _print_json({"side": None, "valid": False, "errors": [{"field": "image", "code": rejected.code,
                                                                    "message": rejected.message}]})  # fmt: skip
        _fail(f"{image}: {rejected.code}: {rejected.message}")
    reading = read_card(frame, today=today.date() if today else date.today())
    if portrait is not None and (jpeg := reading.portrait_jpeg()):
        portrait.write_bytes(jpeg)
    if as_json:
        _print_json(reading.as_json())
    else:
        click.echo(f"{reading.side} side: {'valid' if reading.valid else 'NOT VALID'}")
        for key, value in reading.fields.items():
            click.echo(f"  {key:<11} {value}")
        for error in reading.errors:
            click.echo(f"  ! {error.field}: {error.message}")
    sys.exit(0 if reading.valid else EXIT_NOT_READ)


@idcard.command("capture")
@click.argument("source")
@click.option("--side", type=click.Choice(["front", "back", "any", "both"]), default="both", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Check validity as of this date.")
def idcard_capture(source: str, side: str, as_json: bool, today) -> None:
    """Capture the card from a frame source as the kiosk does: SOURCE is a video file, a folder
    of frames, or a camera (camera:0, /dev/video0). Every frame goes through the quality gate
    (the instructions it would show are listed), the best frames through OCR. Exit 0 when the
    side(s) were read and valid, 3 when not, 2 when the source gives no frames at all."""
    from terminal_app.capture.card_capture import CardCapture
    from terminal_app.capture.sources import SourceUnavailable, open_source

    try:
        frames = open_source(source)
    except SourceUnavailable as unavailable:
        if as_json:
            _print_json({"valid": False, "error": {"code": unavailable.code, "message": unavailable.message}})
        _fail(f"{source}: {unavailable.code}: {unavailable.message}")
    capture = CardCapture(frames, today.date() if today else date.today())
    wanted = {"front": ["front"], "back": ["back"], "any": [None], "both": ["front", "back"]}[side]
    sides = capture.capture_sides(wanted)
    frames.close()
    valid = len(sides) == len(wanted) and all(s.problem is None for s in sides)
    if as_json:
        _print_json({"valid": valid, "sides": [s.as_json() for s in sides]})
    else:
        for captured in sides:
            reading = captured.reading
            shown = ", ".join(captured.instructions)
            counts = f"{captured.frames_seen} frames, {captured.frames_read} read, {captured.ms:.0f} ms"
            click.echo(f"{reading.side if reading else 'no card'}: {counts}; shown: {shown}")
            for key, value in (reading.fields if reading else {}).items():
                click.echo(f"  {key:<11} {value}")
            if captured.problem:
                click.echo(f"  ! {captured.problem}")
                for error in reading.errors if reading else []:
                    click.echo(f"  ! {error.field}: {error.message}")
    sys.exit(0 if valid else EXIT_NOT_READ)


# --- liveness -------------------------------------------------------------------------------


@main.group()
def liveness() -> None:
    """The liveness check and face match."""


@liveness.command("run")
@click.argument("source")
@click.option("--challenges", "challenge_list", default=None, help="e.g. blink,turn_left (default: drawn by --seed)")
@click.option("--seed", type=int, default=None, help="Draw the challenges with this seed (default: at random).")
@click.option(
    "--id-photo",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The ID card photo to match the live face against (idcard read --portrait writes it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def liveness_run(ctx: click.Context, source: str, challenge_list: str | None, seed: int | None,
                 id_photo: Path | None, as_json: bool) -> None:  # fmt: skip
    """Run the liveness check over SOURCE (a video file, a folder of frames, or a camera) as the
    kiosk does: the challenges, the anti-spoof signal and, with --id-photo, the face match.
    Exit 0 passed, 4 failed, 3 the input could not be used (no frames, no face on the photo)."""
    import secrets

    from terminal_app.capture.reader import ImageRejected, decode_image
    from terminal_app.capture.sources import SourceUnavailable, open_source
    from terminal_app.liveness.challenges import Kind, draw_challenges
    from terminal_app.liveness.check import LivenessSettings, run_check

    try:
        config = load_config(ctx.obj["config"]).liveness
    except ConfigError as error:
        _fail(str(error))
    if challenge_list:
        try:
            kinds = [Kind(k.strip()) for k in challenge_list.split(",") if k.strip()]
        except ValueError:
            _fail(f"--challenges: each must be one of {', '.join(k.value for k in Kind)}")
    else:
        kinds = draw_challenges(seed if seed is not None else secrets.randbits(32), config.challenges)
    portrait = None
    if id_photo is not None:
        try:  # bounded: the size is read from the header before any pixel is decoded
            portrait = decode_image(id_photo.read_bytes())
        except ImageRejected as rejected:
            _liveness_unusable(as_json, "portrait_unreadable", f"{id_photo}: {rejected.code}: {rejected.message}")
    try:
        frames = open_source(source, width=640, height=480)
    except SourceUnavailable as unavailable:
        _liveness_unusable(as_json, unavailable.code, f"{source}: {unavailable.message}")
    try:
        report = run_check(frames, kinds, portrait=portrait, settings=LivenessSettings.from_config(config))
    finally:
        frames.close()
    if as_json:
        _print_json(report.as_json())
    else:
        for c in report.challenges:
            click.echo(f"{c.kind:<11} {'passed' if c.passed else 'FAILED'} {c.ms:.0f} ms")
        click.echo(f"spoof score {report.spoof_score:.3f} (max {config.spoof_max})")
        if report.face_match:
            click.echo(f"face match {report.face_match.score:.3f} (min {config.face_match_min})")
        click.echo("PASSED" if report.passed else f"FAILED: {report.reason.code}: {report.reason.en}")
    sys.exit(0 if report.passed else EXIT_LIVENESS_FAILED if report.usable else EXIT_NOT_READ)


def _liveness_unusable(as_json: bool, code: str, message: str) -> NoReturn:
    if as_json:
        _print_json({"passed": False, "reason": code, "error": {"code": code, "message": message}})
    _fail(message, EXIT_NOT_READ)


# --- offer ----------------------------------------------------------------------------------


@main.command("offer")
@click.option("--credit-score", type=int, required=True)
@click.option("--amount", type=Decimal, required=True)
@click.option("--term", "term_months", type=int, required=True)
@click.option("--purpose", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def offer_cmd(
    ctx: click.Context, credit_score: int, amount: Decimal, term_months: int, purpose: str, as_json: bool
) -> None:
    """Quote an offer and its repayment schedule (exit 2 with the allowed range if refused)."""
    catalogue = load_config(ctx.obj["config"]).catalogue
    try:
        offer = make_offer(
            catalogue, credit_score=credit_score, amount=amount, term_months=term_months, purpose=purpose
        )
    except OfferRefused as refused:
        if as_json:
            _print_json({"refused": refused.reason.as_dict(), "allowed": refused.allowed})
        _fail(f"refused: {refused.reason} (allowed: {refused.allowed})")
    if as_json:
        _print_json(offer.as_json())
        return
    click.echo(f"band {offer.band}, limit {offer.limit} CNY, {offer.amount} CNY over {offer.term_months} months")
    click.echo(f"annual rate {offer.annual_rate:.2%}, APR (IRR) {offer.apr:.2%}")
    click.echo(f"{'month':>5} {'payment':>10} {'principal':>10} {'interest':>9} {'balance':>10}")
    for row in offer.schedule:
        click.echo(f"{row.month:>5} {row.payment:>10} {row.principal:>10} {row.interest:>9} {row.balance_after:>10}")
    click.echo(f"total interest {offer.total_interest}, total repayment {offer.total_repayment}")


# --- agents ---------------------------------------------------------------------------------


@main.group()
def agent() -> None:
    """Field agents: roster and offline login."""


@agent.command("hash-pin")
@click.option("--pin", prompt=True, hide_input=True, confirmation_prompt=True)
def agent_hash_pin(pin: str) -> None:
    """Print the scrypt hash of a PIN, as a roster entry carries it."""
    try:
        click.echo(hash_pin(pin))
    except LoginError as error:
        _fail(str(error.reason))


@agent.command("login")
@click.argument("agent_id")
@click.option("--pin", prompt=True, hide_input=True)
@click.pass_context
def agent_login(ctx: click.Context, agent_id: str, pin: str) -> None:
    """Check an agent's PIN offline (exit 0 on success, 2 when refused)."""
    kiosk = _start(ctx)
    try:
        session = kiosk.agents.login(agent_id, pin)
    except LoginError as error:
        _fail(f"login refused: {error.reason}")
    click.echo(f"logged in: {session.agent_id} ({session.role}, county {session.county})")


# --- audit / status -------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the whole chain; exit 2 and list every problem if any record was edited or removed."""
    kiosk = _start(ctx)
    problems = kiosk.audit.verify()
    count = kiosk.audit.count()
    if problems:
        click.echo(f"audit log BROKEN ({len(problems)} problems in {count} records):", err=True)
        for problem in problems:
            click.echo(f"  record {problem.seq}: {problem.problem}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(f"audit log intact: {count} records")


@main.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The terminal's health (each part: ok / attention / stop, and what to do) and what it holds:
    drafts, queued applications, agents, audit records, updates. Exits 1 while a guardrail stops
    new applications."""
    data = _start(ctx).status()
    if as_json:
        _print_json(data)
    else:
        health = data.pop("health")
        click.echo(f"health: {health['state']}")
        for name, check in health["checks"].items():
            line = f"  {name:<10} {check['state']:<9} {check['what']}"
            click.echo(line if check["state"] == "ok" else f"{line} -> {check['do']}")
        for key, value in data.items():
            click.echo(f"{key}: {value}")
        data["health"] = health
    if data["health"]["state"] == "stop":
        sys.exit(1)


# --- demo -----------------------------------------------------------------------------------


@main.command("retention")
@click.pass_context
def retention_cmd(ctx: click.Context) -> None:
    """Purge what the terminal keeps past its time: drafts no session can own, old delivery
    receipts (the daily timer runs it; the kiosk app also does at start and daily)."""
    purged = _start(ctx).retention()
    _print_json({"drafts": purged.drafts, "receipts": purged.receipts})


@main.command("enroll")
@click.option("--server", default=None, help="Central service URL (default: the config's central.url).")
@click.option("--code", required=True, help="The one-time enrollment code from `kiosk-central enroll-code`.")
@click.pass_context
def enroll_cmd(ctx: click.Context, server: str | None, code: str) -> None:
    """Register this terminal's public key with the central service."""
    kiosk = _start(ctx)
    try:
        _print_json(kiosk.enroll(code, server))
    except WireError as error:
        _fail(f"enrollment failed: {error.code}: {error.message}", EXIT_UNSYNCED)


@main.command("sync")
@click.option("--once", "mode", flag_value="once", default=True, help="Drain the outbox once, then exit.")
@click.option("--loop", "mode", flag_value="loop", help="Keep syncing in the background until stopped.")
@click.option("--server", default=None, help="Central service URL (default: the config's central.url).")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between passes in --loop mode.")
@click.pass_context
def sync_cmd(ctx: click.Context, mode: str, server: str | None, interval: float) -> None:
    """Send queued applications to the central service. Exit 3 if some remain (nothing is lost)."""
    client = _start(ctx).sync_client(server)
    if mode == "loop":
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            client.run_forever(stop, interval=interval, on_report=lambda r: click.echo(json.dumps(r.as_dict())))
        return
    try:
        report = client.sync_once()
    except SyncBusy as error:
        _fail(str(error), EXIT_UNSYNCED)
    _print_json(report.as_dict())
    if not report.ok:
        sys.exit(EXIT_UNSYNCED)


@main.group()
def bundle() -> None:
    """Move the outbox by USB stick when the county has no network."""


@bundle.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def bundle_export(ctx: click.Context, path: Path) -> None:
    """Write every queued envelope to PATH, signed by this terminal (they stay queued until receipted)."""
    exported = _start(ctx).export_bundle(path)
    _print_json({"path": str(path), "envelopes": exported.envelopes, "sha256": exported.sha256})


@bundle.command("receipts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def bundle_receipts(ctx: click.Context, path: Path) -> None:
    """Apply the receipts file the central service wrote for a bundle; exit 3 if any is rejected."""
    try:
        result = _start(ctx).import_receipts(path)
    except WireError as error:
        _fail(f"{path}: {error.code}: {error.message}")
    _print_json(result)
    if result["rejected"]:
        sys.exit(EXIT_UNSYNCED)


# --- scoring and the model ---------------------------------------------------------------------


@main.command("score")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def score_cmd(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Score one application (JSON: id_number, form, liveness, ...) with the model in force:
    fraud and credit scores, decision, reasons, offer. Exit 2 naming the field if the input is
    malformed or out of range; nothing is scored then. A what-if: not counted for velocity."""
    from terminal_app.core.scoring import ScoringRefused

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        _fail(f"{path}: not UTF-8 JSON ({error})")
    try:
        what_if = _start(ctx).score_what_if(data)
    except ScoringRefused as refused:
        _fail(f"{path}: not scored:\n" + "\n".join(f"  {p}" for p in refused.problems))
    result, decision, offer = what_if.result, what_if.decision, what_if.offer
    out = {
        "fraud_score": result.fraud_score,
        "credit_score": result.credit_score,
        "decision": str(decision.outcome),
        "reasons": [r.as_dict() for r in decision.reasons],
        "offer": offer.as_json() if offer else None,
        "model_version": result.model_version,
        "timings_ms": result.details["timings_ms"],
        "fraud_reasons": [r.as_dict() for r in result.fraud_reasons],
        "credit_reasons": [r.as_dict() for r in result.credit_reasons],
        "challenger_gbm_pd": result.details["challenger_gbm_pd"],
    }
    if as_json:
        _print_json(out)
        return
    click.echo(f"fraud score {out['fraud_score']}, credit score {out['credit_score']}: {out['decision']}")
    for reason in decision.reasons:
        click.echo(f"  {reason}")
    if offer:
        click.echo(f"offer: {offer.amount} CNY, {offer.term_months} months, {offer.annual_rate:.2%} a year")
    click.echo(f"model {out['model_version']}, {out['timings_ms']['total']:.1f} ms")


@main.group()
def model() -> None:
    """The on-device risk model bundle."""


@model.command("verify")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def model_verify(ctx: click.Context, bundle: Path) -> None:
    """Check a model bundle before it goes to terminals: a signed update file (signature by a
    central key this config trusts, kind, card schema, ONNX graphs, golden rows), or an unsigned
    export directory (all but the signature). Exit 2 with each problem found."""
    from ondevice_models.runtime import BundleError, ModelBundle
    from sync.keys import ed25519_public
    from sync.update import parse_update

    signature: dict = {"signed": False}
    try:
        if bundle.is_dir():
            loaded = ModelBundle.from_directory(bundle)
        else:
            update = parse_update(bundle.read_bytes())
            if update.kind != "model":
                _fail(f"{bundle}: a {update.kind} update, not a model bundle")
            keys = [ed25519_public(k) for k in load_config(ctx.obj["config"]).central.signing_public_keys]
            update.verify(keys)
            signature = {"signed": True, **update.describe()}
            loaded = ModelBundle.from_files(update.files)
    except ConfigError as error:
        _fail(str(error))
    except WireError as error:
        _fail(f"{bundle}: refused: {error.code}: {error.message}")
    except BundleError as error:
        _fail(f"{bundle}: not a usable model bundle:\n" + "\n".join(f"  {p}" for p in error.problems))
    card = loaded.card
    _print_json(
        {
            "ok": True,
            **signature,
            "model_version": card.model_version,
            "trained_at": card.trained_at,
            "features": [f.name for f in card.features],
            "golden_rows_reproduced": len(card.golden_rows),
            "session_ms": round(loaded.session_ms, 1),
            "metrics": {
                k: {m: v for m, v in card.metrics[k].items() if m != "calibration"} for k in ("scorecard", "gbm")
            },
        }
    )


@main.group()
def update() -> None:
    """Downstream updates from the central service: config, blocklist, agent roster, model."""


@update.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def update_apply(ctx: click.Context, path: Path) -> None:
    """Apply an update file brought on a USB stick (exit 2 with the reason if it is refused;
    the version in force stays)."""
    kiosk = _start(ctx)
    try:
        _print_json(kiosk.apply_update(path.read_bytes(), source="usb"))
    except WireError as error:
        _fail(f"{path}: refused: {error.code}: {error.message}")


@update.command("status")
@click.pass_context
def update_status(ctx: click.Context) -> None:
    """The version of each kind in force, where it came from, and the last refusal."""
    _print_json(_start(ctx).updates.status())


@update.command("rollback")
@click.argument("kind", type=click.Choice(["config", "blocklist", "roster", "model"]))
@click.pass_context
def update_rollback(ctx: click.Context, kind: str) -> None:
    """Go back to the previous KIND version; the one rolled back is refused from then on."""
    try:
        _print_json(_start(ctx).updates.rollback(kind))
    except WireError as error:
        _fail(f"{error.code}: {error.message}")


@main.command("apply")
@click.option("--card", "card_source", required=True, help="The card held up: a video, a folder of frames, camera:0.")
@click.option("--face", "face_source", required=True, help="The camera during the liveness check (opened per try).")
@click.option("--form", "form_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consent/--no-consent", default=False, help="The applicant gave both consents (ID data, biometrics).")
@click.option("--decline-offer", is_flag=True, help="The applicant turns the offer down.")
@click.option("--challenge-seed", type=int, default=None, help="Fixed challenges (for a recorded --face); else random.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
def apply_cmd(ctx, card_source, face_source, form_path, consent, decline_offer, challenge_seed, as_json) -> None:
    """One applicant through the whole flow, headless: consent, the card read from --card, the
    liveness check on --face, the form from FORM (the fields of the kiosk form), scoring, offer;
    the application is sealed into the outbox for `kiosk sync`. Exit 0 submitted, 4 stopped
    (with the step and reason), 2 a malformed form or source."""
    from pydantic import TypeAdapter, ValidationError

    from kiosk_config.loader import field_problems
    from terminal_app.capture.sources import SourceUnavailable, open_source
    from terminal_app.core.session import GivenAnswers
    from terminal_app.core.steps import FormAnswers

    try:
        form = TypeAdapter(FormAnswers).validate_json(form_path.read_bytes())
    except ValidationError as error:
        _fail(f"{form_path}: not a form:\n" + "\n".join(f"  {p}" for p in field_problems(error)))
    try:
        card = open_source(card_source)
    except SourceUnavailable as unavailable:
        _fail(f"{card_source}: {unavailable.code}: {unavailable.message}")
    kiosk = _start(ctx, runs_sessions=True)
    liveness = kiosk.liveness_engine(lambda: open_source(face_source), seed=challenge_seed)
    answers = GivenAnswers(form, consented=consent, accept_offer=not decline_offer)
    session = kiosk.new_session(kiosk.capture_engine(card), liveness)
    try:
        outcome = session.run(answers)
    finally:
        card.close()
    stopped = outcome.stopped_by
    out = {
        "end": str(outcome.end_reason),
        "submitted": outcome.submitted,
        "application_id": outcome.application_id,
        "envelope_id": outcome.envelope_id,
        "decision": str(outcome.decision.outcome) if outcome.decision else None,
        "reasons": [r.as_dict() for r in outcome.decision.reasons] if outcome.decision else [],
        "offer": outcome.offer.as_json() if outcome.offer else None,
        "stopped_at": {"step": stopped.step, "reason": stopped.code} if stopped else None,
        "steps": [{"step": r.step, "attempt": r.attempt, "ok": r.ok, "code": r.code, "ms": round(r.ms, 1)}
                  for r in outcome.steps],
        "queued": kiosk.outbox.status()["queued"],
    }  # fmt: skip
    if as_json:
        _print_json(out)
    else:
        for run in outcome.steps:
            click.echo(f"{run.step:<9} try {run.attempt}: {'ok' if run.ok else 'refused'} {run.code} ({run.ms:.0f} ms)")
        click.echo(
            f"{out['end']}: {out['decision'] or '-'}"
            + (f", application {out['application_id']}" if out["submitted"] else "")
        )
    sys.exit(0 if outcome.submitted else EXIT_LIVENESS_FAILED)
