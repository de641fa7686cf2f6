"""The kiosk as one object and its one command layer: config, vault, audit log, agents, outbox
and updates started together, and every operation the CLI, the demo and the screens perform —
the camera and the step engines wired from the config, a new session, a what-if score, status,
enrolment, sync, USB bundles, updates. None of them wires an engine or reads a table itself. An
invalid config stops the start with the fields named.
Its state belongs to its core thread (core/core_thread.py): the thread that started it, or a
dedicated one (`start_on_core_thread`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_config import KioskConfig, load_config
from kiosk_config.updates import ConfigOverlay, Roster
from ondevice_models.runtime import ModelBundle
from sync.bundle import read_receipts, write_outbox_bundle
from sync.keys import ed25519_public, load_or_create_signing_key, x25519_public
from terminal_app.core.agents import Agent, AgentDirectory, AgentSession, Role
from terminal_app.core.audit import AuditLog
from terminal_app.core.blocklist import Blocklist
from terminal_app.core.core_thread import CoreThread
from terminal_app.core.decision import Decision, decide_with_offer
from terminal_app.core.engines import IdCaptureEngine, LivenessEngine
from terminal_app.core.flow import ApplicationFlow, wipe_abandoned_drafts
from terminal_app.core.offer import Offer
from terminal_app.core.outbox import Outbox, Sealer
from terminal_app.core.reasons import Reason
from terminal_app.core.scoring import OnDeviceScorer, ScoringRefused, parse_request
from terminal_app.core.steps import ScoreResult
from terminal_app.core.sync_client import SyncClient, enroll
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
SIGNING_KEY_FILE = "terminal_key.pem"  # the terminal's Ed25519 identity, made on first start


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
        config = load_config(config_path or os.environ.get(CONFIG_ENV) or None)
        vault = Vault(data_dir or default_data_dir(), clock=clock)
        audit = AuditLog(vault, clock=clock)
        signing_key = load_or_create_signing_key(vault.data_dir / SIGNING_KEY_FILE)
        sealer = _sealer(config, signing_key)
        outbox = Outbox(vault, sealer, clock=clock)
        adopted = outbox.adopt_legacy_applications()
        wiped = wipe_abandoned_drafts(vault, audit) if runs_sessions else 0
        agents = AgentDirectory(vault, config.agents, audit, clock=clock)
        kiosk = cls(config, vault, audit, agents, outbox, wiped, local_config=config)
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
        for kind in ("config", "roster", "blocklist"):  # config first: it may rotate central keys
            kiosk.updates.load(kind)
        if kiosk.updates.load("model") is None:  # loaded only if no signed bundle is in force
            kiosk.model = ModelBundle.embedded()
        audit.append("kiosk_started", terminal=config.terminal.id, drafts_wiped=wiped, legacy_adopted=adopted)
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
            "roster": Handler(commit=self._write_roster),
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

    def _write_roster(self, db, roster: Roster) -> None:
        self.agents.write_roster(
            db, [Agent(a.agent_id, Role(a.role), a.county, a.pin_hash, a.active) for a in roster.agents]
        )

    def apply_update(self, raw: bytes, source: str) -> dict:
        """Verify and apply one downstream update (from a sync or a USB stick)."""
        return self.updates.apply(raw, source=source)

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
        """One applicant's session over these engines (on the core thread)."""
        from terminal_app.core.session import ApplicantSession

        return ApplicantSession(self, capture, liveness, agent=agent)

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

    def status(self) -> dict:
        return {
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

    def sync_client(self, server: str | None = None, **options) -> SyncClient:
        """The client that drains this terminal's outbox to `server` (default: the config's URL)."""
        url = server or str(self.config.central.url)
        return SyncClient(
            self.outbox,
            url,
            self.central_keys,  # read at each use: a config update may rotate them mid-sync
            lock_path=self.vault.data_dir / SYNC_LOCK_FILE,
            updates=self.updates,
            **options,
        )

    def enroll(self, code: str, server: str | None = None) -> dict:
        """Register this terminal's key with the central service, using a one-time code."""
        url = server or str(self.config.central.url)
        answer = enroll(url, code, self.config.terminal.id, self.outbox.signing_key, self.central_keys())
        self.outbox.record_enrollment(url)
        self.audit.append("enrolled", terminal=self.config.terminal.id)
        return answer

    def export_bundle(self, path: Path) -> int:
        """Write every queued envelope to a signed bundle file (for a USB stick). The envelopes stay
        queued until their receipts come back, by file or over the network."""
        queued = self.outbox.all_queued()
        write_outbox_bundle(path, self.config.terminal.id, [q.wire for q in queued], self.outbox.signing_key)
        self.audit.append("bundle_exported", envelopes=len(queued))
        return len(queued)

    def import_receipts(self, path: Path) -> dict:
        """Apply a receipts file brought back from the central service: each receipt must match a
        queued envelope's bytes and verify under a central key before that envelope is deleted."""
        queued = {q.envelope_id: q for q in self.outbox.all_queued()}
        receipts = read_receipts(path)
        matched = [(queued[r.envelope_id], r) for r in receipts if r.envelope_id in queued]
        rejected = self.outbox.acknowledge(matched, self.central_keys())
        self.audit.append("receipts_imported", matched=len(matched), rejected=len(rejected))
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
