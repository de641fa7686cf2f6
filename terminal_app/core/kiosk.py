"""The kiosk as one object and its one command layer: config, vault, audit log, agents, outbox
and updates started together, and every operation the CLI, the demo and the screens perform —
the camera and the step engines wired from the config, a new session, a what-if score, status,
enrolment, sync, USB bundles, updates. None of them wires an engine or reads a table itself. An
invalid config stops the start with the fields named.
Its state belongs to its core thread (core/core_thread.py): the thread that started it, or a
dedicated one (`start_on_core_thread`)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from kiosk_config import KioskConfig, load_config
from kiosk_config.updates import ConfigOverlay, ContentError, Roster
from ondevice_models.runtime import ModelBundle
from sync.bundle import read_receipts, write_outbox_bundle
from sync.files import write_atomically
from sync.keys import ed25519_public, load_or_create_signing_key, x25519_public
from terminal_app.core.agents import Agent, AgentDirectory, AgentSession, Role, agent_actor
from terminal_app.core.audit import AuditLog
from terminal_app.core.blocklist import Blocklist
from terminal_app.core.core_thread import CoreThread
from terminal_app.core.decision import Decision, decide_with_offer
from terminal_app.core.engines import IdCaptureEngine, LivenessEngine
from terminal_app.core.flow import ApplicationFlow, wipe_abandoned_drafts
from terminal_app.core.health import (
    CameraState,
    GuardrailStop,
    Health,
    Readings,
    assess,
    free_bytes,
    probe_camera,
    vault_bytes,
)
from terminal_app.core.offer import Offer
from terminal_app.core.outbox import Outbox, Sealer
from terminal_app.core.queue_view import (
    RELEASE_REASONS,
    ExportedBundle,
    QueueRow,
    application_queue,
    bundle_name,
    receipts_files,
    usb_sticks,
)
from terminal_app.core.reasons import Reason
from terminal_app.core.retention import Purged, purge
from terminal_app.core.scoring import OnDeviceScorer, ScoringRefused, parse_request
from terminal_app.core.steps import ScoreResult
from terminal_app.core.sync_client import PinnedSession, SyncClient, SyncReport, enroll
from terminal_app.core.updates import Handler, UpdateStore
from terminal_app.core.vault import Vault
from terminal_app.core.velocity import VelocityLog

if TYPE_CHECKING:  # the engines load their models when first used, not when a command starts
    from terminal_app.capture.cameras import StepCameras
    from terminal_app.capture.card_capture import IdCardCapture
    from terminal_app.capture.sources import FrameSource
    from terminal_app.core.session import ApplicantSession
    from terminal_app.liveness.engine import CameraLivenessEngine

DATA_DIR_ENV = "KIOSK_DATA_DIR"
CONFIG_ENV = "KIOSK_CONFIG"
SYNC_LOCK_FILE = "sync.lock"
UPDATE_KINDS = ("config", "roster", "blocklist", "model")  # loaded in this order: config may rotate central keys
SIGNING_KEY_FILE = "terminal_key.pem"  # the terminal's Ed25519 identity, made on first start
PINNED_CERTIFICATES_FILE = "central-tls.pem"  # the config's pinned certificates, as requests reads them


def default_data_dir() -> Path:
    if env := os.environ.get(DATA_DIR_ENV):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "county-terminal"


@dataclass(frozen=True)
class WhatIf:
    """A score asked for outside any session (`kiosk score`): not recorded for velocity."""

    result: ScoreResult
    decision: Decision
    offer: Offer | None


@dataclass
class Kiosk:
    config: KioskConfig
    vault: Vault
    audit: AuditLog
    agents: AgentDirectory
    outbox: Outbox
    drafts_wiped_at_start: int = 0
    local_config: KioskConfig | None = None  # the file's config, before central config updates
    core: CoreThread = field(default_factory=CoreThread.here)  # the thread this kiosk's state belongs to
    updates: UpdateStore = field(init=False)
    blocklist: Blocklist = field(default_factory=Blocklist)
    model: ModelBundle = field(init=False)  # the signed bundle in force, else the embedded one
    scorer: OnDeviceScorer = field(init=False)
    clock: Callable[[], float] = time.time
    config_path: Path | None = None  # the file it was started from (None: the embedded defaults)
    in_force: dict[str, int] = field(default_factory=dict)  # each kind of update's version in force here
    _audit_sound: tuple[int, str] | None = field(default=None, repr=False)  # the chain checked this far

    @classmethod
    def start(
        cls,
        config_path: Path | str | None = None,
        data_dir: Path | str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        runs_sessions: bool = True,
    ) -> Kiosk:
        """Load the config (ConfigError if invalid), open the vault and the terminal key (both made
        on first start), put the downstream updates in force and, in the process that takes
        applications (`runs_sessions`), wipe drafts left by a crash. A sync loop, `status` or a
        USB export opens the same vault with `runs_sessions=False`: a draft there may be an
        applicant's session under way in the kiosk app."""
        config_path = config_path or os.environ.get(CONFIG_ENV) or None
        config = load_config(config_path)
        vault = Vault(data_dir or default_data_dir(), clock=clock)
        audit = AuditLog(vault, clock=clock)
        signing_key = load_or_create_signing_key(vault.data_dir / SIGNING_KEY_FILE)
        sealer = _sealer(config, signing_key)
        outbox = Outbox(vault, sealer, clock=clock)
        adopted = outbox.adopt_legacy_applications()
        wiped = wipe_abandoned_drafts(vault, audit) if runs_sessions else 0
        agents = AgentDirectory(vault, config.agents, audit, clock=clock)
        kiosk = cls(config, vault, audit, agents, outbox, wiped, local_config=config, clock=clock,
                    config_path=Path(config_path) if config_path else None)  # fmt: skip
        kiosk.scorer = OnDeviceScorer(
            lambda: kiosk.config, lambda: kiosk.model, lambda: kiosk.blocklist, VelocityLog(vault, clock=clock)
        )
        kiosk.updates = UpdateStore(
            vault,
            audit,
            kiosk._update_handlers(),
            terminal_id=config.terminal.id,
            county=config.terminal.county,
            trusted_keys=kiosk.central_keys,
            clock=clock,
        )
        kiosk.model = None  # type: ignore[assignment]  # the embedded one is loaded only if no bundle is in force
        kiosk.refresh_updates()
        audit.append("kiosk_started", terminal=config.terminal.id, drafts_wiped=wiped, legacy_adopted=adopted)
        if runs_sessions:
            kiosk.retention()
            # the whole audit chain checked once now (1.5 s for 100,000 records here), so that the
            # guardrails' checks the screens make read only what was appended since (about 20 ms)
            kiosk._audit_sound = audit.verify_from(None)[1]
        return kiosk

    @classmethod
    def start_on_core_thread(
        cls, config_path: Path | str | None = None, data_dir: Path | str | None = None, **options
    ) -> Kiosk:
        """`start` on a dedicated core thread (the kiosk app's way): any thread may then call in
        through `kiosk.core.call`; `close()` ends the thread."""
        core = CoreThread.start()
        try:
            kiosk = core.call(cls.start, config_path, data_dir, **options)
        except BaseException:
            core.close()
            raise
        kiosk.core = core
        return kiosk

    # --- downstream updates -------------------------------------------------------------------

    def _update_handlers(self) -> dict[str, Handler]:
        return {
            "config": Handler(prepare=self._merged_config, activate=self._use_config),
            "roster": Handler(prepare=self._roster_for_here, commit=self._write_roster),
            "blocklist": Handler(prepare=Blocklist.from_file, activate=lambda b: setattr(self, "blocklist", b)),
            "model": Handler(activate=lambda bundle: setattr(self, "model", bundle)),
        }

    def _merged_config(self, overlay: ConfigOverlay) -> KioskConfig:
        return overlay.apply_to(self.local_config or self.config)

    def _use_config(self, config: KioskConfig) -> None:
        self.config = config
        self.agents.policy = config.agents
        self.outbox.sealer = Sealer(
            config.terminal.id,
            config.terminal.county,
            self.outbox.signing_key,
            x25519_public(config.central.hpke_public_key),
        )

    def _roster_for_here(self, roster: Roster) -> Roster:
        """A roster with no active agent of this terminal's county would lock every agent out of a
        terminal that may be days from head office: refused, the one in force stays."""
        county = self.config.terminal.county
        if not any(a.active and a.county == county for a in roster.agents):
            raise ContentError("roster", [f"no active agent of county {county}: it would lock out every agent here"])
        return roster

    def _write_roster(self, db, roster: Roster) -> None:
        self.agents.write_roster(
            db, [Agent(a.agent_id, Role(a.role), a.county, a.pin_hash, a.active) for a in roster.agents]
        )

    def apply_update(self, raw: bytes, source: str) -> dict:
        """Verify and apply one downstream update (from a sync or a USB stick)."""
        outcome = self.updates.apply(raw, source=source)
        self._note_in_force()
        return outcome

    def refresh_updates(self) -> list[str]:
        """Put in force the updates another process applied to this vault since (the sync
        service, "sync now"): each kind whose version changed is loaded again. Returns those kinds."""
        changed = []
        for kind in UPDATE_KINDS:
            version = self.updates.installed(kind).version
            if kind in self.in_force and self.in_force[kind] == version:
                continue
            content = self.updates.load(kind)
            if kind == "model" and content is None and self.model is None:
                self.model = ModelBundle.embedded()
            changed.append(kind)
        self._note_in_force()
        return changed

    def _note_in_force(self) -> None:
        self.in_force = {kind: self.updates.installed(kind).version for kind in UPDATE_KINDS}

    def new_application(self, agent: AgentSession | None = None, **clocks) -> ApplicationFlow:
        return ApplicationFlow(self.config, self.vault, self.audit, self.outbox, agent=agent, core=self.core, **clocks)

    # --- the engines and a new session ------------------------------------------------------

    def open_camera(self) -> FrameSource:
        """The terminal's camera as `[camera]` sets it (reconnecting if unplugged)."""
        from terminal_app.capture.sources import CameraSource

        camera = self.config.camera
        return CameraSource(camera.device, width=camera.width, height=camera.height, fps=camera.fps)

    def capture_engine(
        self, source: FrameSource, *, on_instruction: Callable[[Reason], None] | None = None, today: date | None = None
    ) -> IdCardCapture:
        """The card capture over `source` (the camera, a video, a folder), with the OCR models."""
        from terminal_app.capture.card_capture import IdCardCapture
        from terminal_app.capture.ocr import ocr_engine

        return IdCardCapture(
            source,
            today or date.today(),
            ocr_engine(),
            timeout_s=self.config.camera.frame_timeout_s,
            on_instruction=on_instruction,
        )

    def liveness_engine(
        self, open_frames: Callable[[], FrameSource], *, seed: int | None = None
    ) -> CameraLivenessEngine:
        """The liveness check over the frames `open_frames` gives for each check, with the
        `[liveness]` thresholds; `seed` fixes the challenges (tests and the demo only)."""
        from terminal_app.liveness.engine import CameraLivenessEngine

        return CameraLivenessEngine(open_frames, self.config.liveness, seed=seed)

    def camera_engines(
        self, cameras: StepCameras, *, today: date | None = None
    ) -> tuple[IdCaptureEngine, LivenessEngine]:
        """The capture and liveness engines of a kiosk app over its one camera (capture/cameras.py),
        for the applicant in front of it now."""
        from terminal_app.capture.cameras import CardTries

        capture = CardTries(cameras, lambda source: self.capture_engine(source, today=today))
        seed = getattr(cameras, "challenge_seed", None)  # a recording answers only its own challenges
        return capture, self.liveness_engine(cameras.face_frames, seed=seed)

    def new_session(
        self, capture: IdCaptureEngine, liveness: LivenessEngine, *, agent: AgentSession | None = None
    ) -> ApplicantSession:
        """One applicant's session over these engines (on the core thread). Raises GuardrailStop
        while a guardrail stops the terminal (`health`)."""
        from terminal_app.core.session import ApplicantSession

        stops = self.health().stops
        if stops:
            self.audit.append("application_refused_stopped", checks=",".join(c.name for c in stops))
            raise GuardrailStop(stops[0].reason)
        return ApplicantSession(self, capture, liveness, agent=agent)

    def _audit_cut(self) -> bool:
        """Whether the chain is behind what the central service saw of it: shorter than the head it
        last reported, or a different record there (deleted with its head, or an old copy put back)."""
        seen = self.outbox.central_audit_head()
        if seen is None:
            return False
        head = self.audit.head()
        return head is None or head[0] < seen[0] or self.audit.mac_at(seen[0]) != seen[1]

    def retention(self) -> Purged:
        """Purge what is kept past its time (core/retention.py): at start, daily, by the timer."""
        return purge(self.vault, self.audit, self.config, self.clock())

    # --- health and guardrails ----------------------------------------------------------------

    def health(self, camera: CameraState | None = None) -> Health:
        """Every part of the terminal checked against `[guardrails]` (core/health.py). `camera`: the
        kiosk app's own view of its camera; without it the configured device is probed."""
        problems, self._audit_sound = self.audit.verify_from(self._audit_sound)
        readings = Readings(
            now=self.clock(),
            guardrails=self.config.guardrails,
            oldest_queued_at=self.outbox.oldest_queued_at(),
            held=self.vault.db["held"].count,
            central_skew=self.outbox.central_skew(),
            latest_audit_at=self.audit.latest_time(),
            audit_problems=len(problems),
            audit_cut=self._audit_cut(),
            updates=self.updates.status(),
            model_version=self.model.model_version,
            agents=sum(a.active for a in self.agents.roster()),
            free_bytes=free_bytes(self.vault.data_dir),
            vault_bytes=vault_bytes(self.vault.data_dir),
            camera=camera or probe_camera(self.config.camera.device),
        )
        return assess(readings)

    # --- scoring ------------------------------------------------------------------------------

    def score_what_if(self, data: object) -> WhatIf:
        """Score one application given as data (id_number, form, liveness, ...) with the model in
        force, and decide on it, outside any session: not counted for velocity. Raises
        ScoringRefused naming each field it cannot use."""
        request = parse_request(data)
        result = self.scorer.score(request, record=False)
        decision, offer = decide_with_offer(result, self.config.risk, self.config.catalogue, request.form)
        self.audit.append("scored_what_if", model=result.model_version, outcome=str(decision.outcome))
        return WhatIf(result, decision, offer)

    def score(self, flow: ApplicationFlow, *, local_time: datetime | None = None) -> Decision:
        """Run the on-device scorer on the flow's draft and hand the result to the flow. An
        application the model in force cannot score is referred to a person, with the reason."""
        try:
            result = self.scorer.score(flow.scoring_request(local_time), record=True)
        except ScoringRefused as refused:
            return flow.submit_unscored(str(refused))
        return flow.submit_scores(result)

    def status(self, *, language: str = "zh") -> dict:
        return {
            "health": self.health().as_json(language),
            "terminal_id": self.config.terminal.id,
            "county": self.config.terminal.county,
            "schema_version": self.vault.schema_version,
            "drafts": len(self.vault.draft_ids()),
            "agents": len(self.agents.roster()),
            "audit_records": self.audit.count(),
            "sync": self.outbox.status(),
            "updates": self.updates.status(),
            "model_version": self.model.model_version,
        }

    def central_keys(self) -> list:
        return [ed25519_public(key) for key in self.config.central.signing_public_keys]

    def http_session(self) -> requests.Session:
        """A session to the central service that trusts only the config's pinned certificates
        (`[central] tls_certificates`), never the system's store; plain http is for loopback only
        (the config refuses it elsewhere)."""
        pinned = self.config.central.tls_certificates
        if not pinned:
            return requests.Session()
        path = self.vault.data_dir / PINNED_CERTIFICATES_FILE
        if not path.exists() or path.read_text("utf-8") != pinned:
            write_atomically(path, [pinned.encode()], mode=0o600)
        return PinnedSession(path)

    def sync_client(self, server: str | None = None, **options) -> SyncClient:
        """The client that drains this terminal's outbox to `server` (default: the config's URL)."""
        url = server or str(self.config.central.url)
        options.setdefault("session", self.http_session())
        return SyncClient(
            self.outbox,
            url,
            self.central_keys,  # read at each use: a config update may rotate them mid-sync
            lock_path=self.vault.data_dir / SYNC_LOCK_FILE,
            updates=self.updates,
            audit_head=self.audit.head,
            **options,
        )

    def sync_beside(self, server: str | None = None) -> SyncReport:
        """One sync pass for the kiosk app's "sync now", from any thread but this kiosk's core:
        on a kiosk of its own (its own vault connection and core thread, as the sync service
        runs), so the network never holds up the screens. Then the updates it applied are put in
        force here (`refresh_updates`, on this kiosk's core)."""
        beside = Kiosk.start_on_core_thread(self.config_path, self.vault.data_dir, runs_sessions=False)
        try:
            report = beside.core.call(lambda: beside.sync_client(server).sync_once())
        finally:
            beside.close()
        self.core.call(self.refresh_updates)
        return report

    def enroll(self, code: str, server: str | None = None) -> dict:
        """Register this terminal's key with the central service, using a one-time code."""
        url = server or str(self.config.central.url)
        answer = enroll(url, code, self.config.terminal.id, self.outbox.signing_key, self.central_keys(),
                        session=self.http_session())  # fmt: skip
        self.outbox.record_enrollment(url)
        self.audit.append("enrolled", terminal=self.config.terminal.id)
        return answer

    def export_bundle(self, path: Path, *, actor: str = "kiosk") -> ExportedBundle:
        """Write every queued envelope to a signed bundle file (for a USB stick): written under a
        temporary name and renamed, so a stick pulled half-way leaves no bundle that looks whole.
        The envelopes stay queued until their receipts come back, by file or over the network."""
        queued = self.outbox.all_queued()
        write_outbox_bundle(path, self.config.terminal.id, [q.wire for q in queued], self.outbox.signing_key)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        # the count only: a hex digest may hold a run of 11 digits, which the audit log refuses
        self.audit.append("bundle_exported", actor=actor, envelopes=len(queued))
        return ExportedBundle(path, len(queued), digest)

    def usb_sticks(self) -> list[Path]:
        """The mounted USB sticks (`[usb] mounts`) this kiosk can write to."""
        return usb_sticks(self.config.usb.mounts)

    def export_to_stick(self, stick: Path, agent: AgentSession) -> ExportedBundle:
        """`export_bundle` onto a mounted stick, by the agent, under a name that says whose and when."""
        return self.export_bundle(stick / bundle_name(self.config.terminal.id, self.clock()), actor=agent_actor(agent))

    def receipts_on_sticks(self) -> list[Path]:
        """This terminal's receipts files on the mounted sticks, newest first."""
        return receipts_files(self.usb_sticks(), self.config.terminal.id)

    def agent_login(self, number: str, pin: str) -> AgentSession:
        """An agent logs in on the kiosk's keypad with their agent number (its digits) and PIN."""
        return self.agents.login(self.agents.id_for_number(number), pin)

    def agent_did(self, agent: AgentSession, event: str) -> None:
        """An agent's action the other commands do not log themselves (logout, sync now, an
        assisted application started), in the audit log under the agent's name."""
        self.audit.append(event, actor=agent_actor(agent))

    def todays_applications(self, *, since: float | None = None) -> list[QueueRow]:
        """The applications submitted here since local midnight (or `since`), newest first: number,
        time, decision, and where the envelope is (queued, delivered, held). No personal data: the
        terminal cannot open its own envelopes; this is read from the audit log."""
        if since is None:
            now = datetime.fromtimestamp(self.clock())
            since = datetime.combine(now.date(), datetime.min.time()).timestamp()
        return application_queue(self.vault, since)

    def release_held(self, agent: AgentSession, reason: str) -> int:
        """Put held envelopes back in the queue, for the agent's `reason` (one of RELEASE_REASONS)."""
        if reason not in RELEASE_REASONS:
            raise ValueError(f"a release reason is one of {', '.join(RELEASE_REASONS)}")
        count = self.outbox.release_held()
        self.audit.append("held_released", actor=agent_actor(agent), envelopes=count, reason=reason)
        return count

    def import_receipts(self, path: Path, *, actor: str = "kiosk") -> dict:
        """Apply a receipts file brought back from the central service: each receipt must match a
        queued envelope's bytes and verify under a central key before that envelope is deleted."""
        queued = {q.envelope_id: q for q in self.outbox.all_queued()}
        receipts = read_receipts(path)
        matched = [(queued[r.envelope_id], r) for r in receipts if r.envelope_id in queued]
        rejected = self.outbox.acknowledge(matched, self.central_keys())
        self.audit.append("receipts_imported", actor=actor, matched=len(matched), rejected=len(rejected))
        return {
            "receipts": len(receipts),
            "acknowledged": len(matched) - len(rejected),
            "rejected": [{"envelope_id": q.envelope_id, "code": e.code} for q, e in rejected],
            "not_queued": len(receipts) - len(matched),
            "still_queued": self.outbox.status()["queued"],
        }

    def close(self) -> None:
        self.core.call(self.vault.close)
        self.core.close()


def _sealer(config: KioskConfig, signing_key) -> Sealer:
    return Sealer(
        config.terminal.id, config.terminal.county, signing_key, x25519_public(config.central.hpke_public_key)
    )
