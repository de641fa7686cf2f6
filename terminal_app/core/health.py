"""The terminal's health, one check a part, each with a plain state and what to do about it; and
the guardrails: a check at `stop` stops new applications (queued ones still sync, nothing is
lost), as trusted registration clients freeze a station rather than let it drift. The limits are
the config's `[guardrails]` (central policy, signed). The agent's health screen and
`kiosk status --json` show the same checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from kiosk_config.schema import Guardrails
from terminal_app.core.message_catalogue import words
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.vault import VAULT_FILE

# The day this software was released: a clock before it is surely wrong (a flat RTC battery).
RELEASED = date(2026, 12, 1)
DAY_S = 86_400.0
CLOCK_BACK_TOLERANCE_S = DAY_S  # records from further in the future than this: the clock went back
MIB = 1 << 20
MIN_CAMERA_FPS = 8.0  # slower than this, the preview stutters and the face challenges are missed


class State(StrEnum):
    OK = "ok"
    ATTENTION = "attention"  # works; an agent should act soon
    STOP = "stop"  # no new application until fixed


@dataclass(frozen=True)
class Check:
    """One part of the terminal: its state, what is the matter and what to do (both in words),
    and the figures behind it (no personal data)."""

    name: str
    state: State
    reason: Reason
    facts: dict = field(default_factory=dict)

    def advice(self, language: str = "zh") -> str:
        """What to do about it, in `language`."""
        return words(language, "advice", self.reason.code, **dict(self.reason.params))

    def as_json(self, language: str = "zh") -> dict:
        return {
            "state": str(self.state),
            "code": self.reason.code,
            "what": self.reason.text(language),
            "do": self.advice(language),
            **self.facts,
        }


@dataclass(frozen=True)
class Health:
    checks: tuple[Check, ...]

    @property
    def state(self) -> State:
        states = {c.state for c in self.checks}
        return State.STOP if State.STOP in states else State.ATTENTION if State.ATTENTION in states else State.OK

    @property
    def stops(self) -> list[Check]:
        return [c for c in self.checks if c.state is State.STOP]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def as_json(self, language: str = "zh") -> dict:
        return {"state": str(self.state), "checks": {c.name: c.as_json(language) for c in self.checks}}


class GuardrailStop(ReasonError):
    """A new application refused: the terminal is stopped by a guardrail (the first one named)."""


@dataclass(frozen=True)
class CameraState:
    """The kiosk app's camera as it last saw it (the app owns the camera; status only probes)."""

    found: bool
    fps: float | None = None
    last_frame_age_s: float | None = None


@dataclass(frozen=True)
class Readings:
    """What the checks read from the kiosk (gathered by `Kiosk.health`)."""

    now: float
    guardrails: Guardrails
    oldest_queued_at: float | None
    held: int
    central_skew: tuple[float, float] | None  # (central minus ours, when measured)
    latest_audit_at: float | None
    audit_problems: int
    audit_cut: bool  # the chain is behind the head the central service last saw
    updates: dict  # UpdateStore.status()
    model_version: str
    agents: int
    free_bytes: int  # on the data directory's disk
    vault_bytes: int
    camera: CameraState | None


def _age_days(now: float, issued_at: str | None) -> float | None:
    if not issued_at:
        return None
    issued = datetime.strptime(issued_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    return max(0.0, (now - issued) / DAY_S)


def _days(seconds: float) -> int:
    return int(seconds // DAY_S)


def check_clock(r: Readings) -> Check:
    limit = r.guardrails.max_clock_skew_s
    facts = {"now": datetime.fromtimestamp(r.now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    skew_ok_lately = False
    if r.central_skew is not None:
        skew, measured_at = r.central_skew
        facts |= {"central_skew_s": skew, "measured_days_ago": round((r.now - measured_at) / DAY_S, 1)}
        if abs(skew) > limit:
            return Check("clock", State.STOP, Reason("clock_skewed", seconds=round(skew), limit=limit), facts)
        skew_ok_lately = 0 <= r.now - measured_at <= DAY_S
    if r.now < datetime.combine(RELEASED, datetime.min.time(), UTC).timestamp():
        return Check("clock", State.STOP, Reason("clock_before_release", released=RELEASED.isoformat()), facts)
    if r.latest_audit_at is not None and r.latest_audit_at - r.now > CLOCK_BACK_TOLERANCE_S and not skew_ok_lately:
        # records written "later" than now: the clock was set back (a sync that found it right clears this)
        return Check("clock", State.STOP, Reason("clock_went_back", days=_days(r.latest_audit_at - r.now)), facts)
    if r.central_skew is None:
        return Check("clock", State.ATTENTION, Reason("clock_unchecked"), facts)
    return Check("clock", State.OK, Reason("clock_ok"), facts)


def check_outbox(r: Readings) -> Check:
    limit_s = r.guardrails.max_days_unsynced * DAY_S
    age = None if r.oldest_queued_at is None else max(0.0, r.now - r.oldest_queued_at)
    facts = {"oldest_age_s": None if age is None else round(age), "held": r.held}
    if age is not None and age > limit_s:
        return Check("outbox", State.STOP, Reason("outbox_stale", days=_days(age)), facts)
    if r.held:
        return Check("outbox", State.ATTENTION, Reason("outbox_held", held=r.held), facts)
    if age is not None and age > limit_s / 2:
        return Check("outbox", State.ATTENTION, Reason("outbox_ageing", days=_days(age)), facts)
    return Check("outbox", State.OK, Reason("outbox_ok"), facts)


def _check_update(
    r: Readings,
    kind: str,
    max_days: int,
    missing: Reason,
    too_old: Callable[[int], Reason],
    ageing: Callable[[int], Reason],
) -> Check:
    held = r.updates.get(kind, {})
    facts = {"version": held.get("version", 0), "issued_at": held.get("issued_at")}
    age = _age_days(r.now, held.get("issued_at"))
    if not held.get("version") or age is None:
        return Check(kind, State.ATTENTION, missing, facts)
    facts["age_days"] = round(age, 1)
    if age > max_days:
        return Check(kind, State.STOP, too_old(int(age)), facts)
    if age > max_days * 0.75:
        return Check(kind, State.ATTENTION, ageing(int(age)), facts)
    return Check(kind, State.OK, Reason("update_ok", version=facts["version"]), facts)


def check_blocklist(r: Readings) -> Check:
    limit = r.guardrails.blocklist_max_age_days
    return _check_update(
        r,
        "blocklist",
        limit,
        Reason("blocklist_missing"),
        lambda days: Reason("blocklist_too_old", days=days, limit=limit),
        lambda days: Reason("blocklist_ageing", days=days, limit=limit),
    )


def check_model(r: Readings) -> Check:
    limit = r.guardrails.model_max_age_days
    check = _check_update(
        r,
        "model",
        limit,
        Reason("model_embedded"),
        lambda days: Reason("model_too_old", days=days, limit=limit),
        lambda days: Reason("model_ageing", days=days, limit=limit),
    )
    return Check(check.name, check.state, check.reason, check.facts | {"model_version": r.model_version})


def check_config(r: Readings) -> Check:
    """The central part of the config: which signed version is in force (0: the installed file's)."""
    held = r.updates.get("config", {})
    facts = {"version": held.get("version", 0), "issued_at": held.get("issued_at")}
    if (age := _age_days(r.now, held.get("issued_at"))) is not None:
        facts["age_days"] = round(age, 1)
    return Check("config", State.OK, Reason("update_ok", version=facts["version"]), facts)


def check_roster(r: Readings) -> Check:
    held = r.updates.get("roster", {})
    facts = {"version": held.get("version", 0), "issued_at": held.get("issued_at"), "agents": r.agents}
    if not r.agents:
        return Check("roster", State.ATTENTION, Reason("roster_missing"), facts)
    return Check("roster", State.OK, Reason("update_ok", version=facts["version"]), facts)


def vault_bytes(data_dir: Path) -> int:
    """The vault's size on disk, its write-ahead log included."""
    return sum(p.stat().st_size for p in data_dir.glob(f"{VAULT_FILE}*") if p.is_file())


def free_bytes(data_dir: Path) -> int:
    return shutil.disk_usage(data_dir).free


def check_disk(r: Readings) -> Check:
    free_mb, limit_mb = r.free_bytes // MIB, r.guardrails.min_free_disk_mb
    facts = {"free_mb": free_mb, "vault_mb": round(r.vault_bytes / MIB, 1)}
    if free_mb < limit_mb:
        return Check("disk", State.STOP, Reason("disk_full", free_mb=free_mb), facts)
    if free_mb < 2 * limit_mb:
        return Check("disk", State.ATTENTION, Reason("disk_low", free_mb=free_mb), facts)
    return Check("disk", State.OK, Reason("disk_ok", free_mb=free_mb), facts)


def check_audit(r: Readings) -> Check:
    facts = {"problems": r.audit_problems, "behind_central": r.audit_cut}
    if r.audit_cut:
        return Check("audit", State.STOP, Reason("audit_cut"), facts)
    if r.audit_problems:
        return Check("audit", State.STOP, Reason("audit_broken", problems=r.audit_problems), facts)
    return Check("audit", State.OK, Reason("audit_ok"), facts)


def check_camera(r: Readings) -> Check:
    camera = r.camera
    if camera is None:
        return Check("camera", State.ATTENTION, Reason("camera_unchecked"), {})
    facts = {"found": camera.found, "fps": camera.fps, "last_frame_age_s": camera.last_frame_age_s}
    if not camera.found:
        return Check("camera", State.ATTENTION, Reason("camera_not_found"), facts)
    if camera.fps is not None and camera.fps < MIN_CAMERA_FPS:
        return Check("camera", State.ATTENTION, Reason("camera_slow", fps=camera.fps), facts)
    return Check("camera", State.OK, Reason("camera_ok"), facts)


CHECKS: tuple[Callable[[Readings], Check], ...] = (
    check_clock,
    check_outbox,
    check_blocklist,
    check_model,
    check_config,
    check_roster,
    check_disk,
    check_audit,
    check_camera,
)


def assess(readings: Readings) -> Health:
    return Health(tuple(check(readings) for check in CHECKS))


def probe_camera(device: int | str) -> CameraState:
    """Whether the configured camera's device node exists (for `kiosk status`: the kiosk app owns
    the camera itself and reports its frame rate)."""
    path = Path(f"/dev/video{device}") if isinstance(device, int) else Path(device)
    return CameraState(found=path.exists() and os.access(path, os.R_OK))
