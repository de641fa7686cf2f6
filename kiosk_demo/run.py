"""`kiosk demo`: the product's main job end to end, offline, on this machine.

A local central sync service starts on loopback with fresh keys; this terminal enrols, takes its
signed agent roster and blocklist, and a field agent logs in offline. Then each synthetic
applicant goes through the whole headless session — the card held up to the camera and read,
the liveness check on the camera frames, the form, the on-device scores and decision, the offer,
the application sealed into the outbox — and the terminal syncs (or, while the link is down,
tries and keeps the envelopes queued). Last, the back office opens what was delivered with the
opening key, in a step of its own, and every submitted application is compared with what the
kiosk took in: missing, altered or duplicated ones make the demo fail.

Under the run's directory: `central/` (keys, store), `terminal/` (config, vault), `logs/`
(the service's log and the demo journal: codes, times and ids only), `backoffice/` (the opened
applications, the only plain-text personal data) and `applicants/` (what each synthetic person
entered, for the comparison). Run again on the same directory, it picks up where a killed run
stopped: the kiosk wipes the half-done draft at start, the queued envelopes drain."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from kiosk_demo.applicants import BLOCKLISTED, DemoApplicant, make_applicants
from kiosk_demo.central import LocalCentral
from kiosk_demo.synthetic.photo import CardHolder
from terminal_app.capture.card_capture import IdCardCapture, printed_fields
from terminal_app.capture.sources import FOLDER_FPS, FrameListSource
from terminal_app.core.agents import Role, hash_pin
from terminal_app.core.engines import EngineRun
from terminal_app.core.flow import Step
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.session import ApplicantSession, GivenAnswers, SessionOutcome
from terminal_app.core.steps import IdCardFields

AGENT_ID = "A-0001"
STEPS = ("capture", "liveness", "form", "scoring", "offer", "seal")
JOURNAL = "demo-journal.jsonl"
ENTERED = "entered.jsonl"
EXPORT = "applications.jsonl"


@dataclass
class DemoRow:
    """One applicant as the demo's table shows it. Codes, times and ids only: no personal data."""

    index: int
    scenario: str
    assisted: bool
    session_id: str
    end: str  # the flow's end reason
    capture: str
    liveness: str
    decision: str  # approve / refer / decline, or "-" when stopped before scoring
    reasons: list[str]
    offer: str
    sync: str
    read_as_printed: bool | None  # the card read equals the card printed (None: not read)
    application_id: str | None
    envelope_id: str | None
    ms: dict[str, float]  # machine time per step (all tries), "sync", and "session"
    camera_s: float = 0.0  # the frames the person showed the camera, at 15 fps: their time in front of it

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class DemoReport:
    root: Path
    rows: list[DemoRow]  # every applicant done, by this run and any run it picked up from
    summary: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why the demo fails, if it does

    @property
    def ok(self) -> bool:
        return not self.problems


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text("utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut off by a kill: the applicant is run again
            continue
    return rows


def _append(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        out.flush()


def _card_record(card: dict, portrait: bytes | None) -> dict:
    return card | {"portrait_sha256": hashlib.sha256(portrait).hexdigest() if portrait else None}


def application_record(application: dict) -> dict:
    """The parts of an opened application that must arrive as entered: card (its photo by
    digest), consent, form, decision, offer and agent."""
    card = dict(application["card"])
    portrait = card.pop("portrait_jpeg", None)
    decision = application.get("decision") or {}
    return {
        "card": _card_record(card, base64.b64decode(portrait) if portrait else None),
        "consent": application.get("consent"),
        "form": application.get("form"),
        "decision": {"outcome": decision.get("outcome"), "reasons": [r["code"] for r in decision.get("reasons", [])]},
        "offer": application.get("offer"),
        "agent_id": application.get("agent_id"),
    }


def entered_record(session: ApplicantSession) -> dict:
    """What the kiosk took in for a submitted application, in the same form."""
    outcome = session.outcome
    assert outcome.card is not None and outcome.form is not None and outcome.decision is not None
    card = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(outcome.card).items()}
    portrait = card.pop("portrait_jpeg")
    record = {
        "card": _card_record(card, portrait),
        "consent": asdict(outcome.consent) if outcome.consent else None,
        "form": outcome.form.as_json(),
        "decision": {"outcome": str(outcome.decision.outcome), "reasons": [r.code for r in outcome.decision.reasons]},
        "offer": outcome.offer.as_json() if outcome.offer else None,
        "agent_id": session.agent.agent_id if session.agent else None,
    }
    return json.loads(json.dumps(record, ensure_ascii=False))  # enums and dates as the wire has them


def _tries(outcome: SessionOutcome, step: str) -> str:
    runs = [run for run in outcome.steps if run.step == step]
    if not runs:
        return "-"
    last = runs[-1]
    if last.ok:
        return "ok" if len(runs) == 1 else f"ok on try {len(runs)}"
    return f"refused: {last.code}" + (f" x{len(runs)}" if len(runs) > 1 else "")


def _row(applicant: DemoApplicant, session: ApplicantSession, frames: int, sync: str, sync_ms: float) -> DemoRow:
    outcome = session.outcome
    liveness = _tries(outcome, "liveness")
    result = outcome.liveness
    if result is not None and liveness.startswith("ok"):
        liveness += f" (match {result.face_match_score:.2f}, spoof {result.spoof_score:.2f})"
    decision = outcome.decision
    offer = outcome.offer
    read = None
    if outcome.card is not None:
        read = printed_fields(outcome.card) == applicant.expected_card()
    ms = {step: round(outcome.step_ms(step), 1) for step in STEPS if outcome.attempts(step)}
    ms |= {"sync": round(sync_ms, 1), "session": round(outcome.ms, 1)}
    return DemoRow(
        index=applicant.index,
        scenario=applicant.scenario,
        assisted=applicant.assisted,
        session_id=outcome.session_id,
        end=str(outcome.end_reason),
        capture=_tries(outcome, "capture"),
        liveness=liveness,
        decision=str(decision.outcome) if decision else "-",
        reasons=[f"{r.code}: {r.en}" for r in decision.reasons] if decision else [],
        offer=f"{offer.amount} CNY x {offer.term_months} mo @ {offer.annual_rate:.2%}, {offer.monthly_payment}/mo"
        if offer
        else "-",
        sync=sync,
        read_as_printed=read,
        application_id=outcome.application_id,
        envelope_id=outcome.envelope_id,
        ms=ms,
        camera_s=round(frames / FOLDER_FPS, 1),
    )


class DemoRefused(Exception):
    """The demo cannot run as asked (a kept directory from another run, a service that will not start)."""


class HeldUpCard:
    """The capture engine over the applicant's card held up to the camera: before each try the
    person holds it up again (a new presentation, made outside the step's time)."""

    def __init__(self, kiosk: Kiosk, applicant: DemoApplicant, today: date):
        self.kiosk, self.applicant, self.today = kiosk, applicant, today
        self._capture: IdCardCapture | None = None
        self._holder: CardHolder | None = None
        self._shown_before = 0  # frames the camera took in earlier presentations

    def present(self, presentation: int) -> None:
        if self._holder is not None:
            self._shown_before += self._holder.frames_shown
        self._holder = self.applicant.card_holder(presentation)
        self._capture = self.kiosk.capture_engine(self._holder, on_instruction=self._holder.hear, today=self.today)

    @property
    def frames_shown(self) -> int:
        """Frames the camera took of the card, every presentation."""
        return self._shown_before + (self._holder.frames_shown if self._holder else 0)

    def before_try(self, step: Step, number: int) -> None:
        if step is Step.ID_CAPTURE and number > 1:
            self.present(number)

    def read_card(self, run: EngineRun | None = None) -> IdCardFields:
        assert self._capture is not None, "present() the card first"
        return self._capture.read_card(run)


class DemoRun:
    """One run of the demo over `root` (made fresh, or a kept directory to pick up from)."""

    def __init__(
        self,
        root: Path,
        *,
        applicants: int,
        seed: int,
        offline_first: int = 0,
        today: date | None = None,
        progress: Callable[[str], None] = lambda line: None,
    ):
        self.root = root
        self.count, self.seed, self.offline_first = applicants, seed, offline_first
        self.today = today or date.today()
        self.progress = progress
        self.journal = root / "logs" / JOURNAL
        self.entered = root / "applicants" / ENTERED
        self.export = root / "backoffice" / EXPORT
        self.central = LocalCentral(root / "central", root / "logs" / "central.log")
        self.dead_link = ""  # set for the run (`run`)

    # --- set-up ---------------------------------------------------------------------------

    def start_kiosk(self) -> Kiosk:
        config = self.root / "terminal" / "kiosk.toml"
        config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        config.write_text(self.central.terminal_config(), encoding="utf-8")  # the service's port is new each start
        return Kiosk.start(config, self.root / "terminal" / "data")

    def first_contact(self, kiosk: Kiosk, applicants: list[DemoApplicant]) -> str:
        """Enrol (once), publish this run's roster (a fresh PIN) and the blocklist (once), and take
        them down in one sync while the link is up. Returns the agent's PIN."""
        terminal = kiosk.config.terminal
        if kiosk.outbox.status()["enrolled_url"] is None:
            kiosk.enroll(self.central.enrollment_code(terminal.id), self.central.url)
            blocked = [a.card.id_number for a in applicants if a.scenario == BLOCKLISTED]
            self.central.publish_blocklist(blocked, [])
        pin = f"{secrets.randbelow(10**6):06d}"
        agent = {"agent_id": AGENT_ID, "role": str(Role.AGENT), "county": terminal.county, "pin_hash": hash_pin(pin)}
        self.central.publish_roster([agent])
        report = kiosk.sync_client(self.central.url).sync_once()
        if not report.ok:
            raise DemoRefused(f"the first sync with the local central service failed: {report.error}")
        return pin

    # --- the applicants -------------------------------------------------------------------

    def _session(
        self, kiosk: Kiosk, applicant: DemoApplicant, agent
    ) -> tuple[ApplicantSession, GivenAnswers, HeldUpCard, int]:
        card = HeldUpCard(kiosk, applicant, self.today)
        card.present(1)
        face_frames = applicant.liveness_frames(kiosk.config.liveness.challenges)
        liveness = kiosk.liveness_engine(lambda: FrameListSource(face_frames), seed=applicant.challenge_seed)
        session = kiosk.new_session(card, liveness, agent=agent if applicant.assisted else None)
        return session, GivenAnswers(applicant.form), card, len(face_frames)

    def _sync(self, kiosk: Kiosk, index: int) -> tuple[str, float]:
        started = time.perf_counter()
        link_up = index > self.offline_first
        report = kiosk.sync_client(self.central.url if link_up else self.dead_link, timeout=(2.0, 30.0)).sync_once()
        ms = (time.perf_counter() - started) * 1000
        if report.ok:
            if not report.sent:
                return "nothing to send", ms
            return f"sent {report.stored}" + (f" (+{report.duplicates} dup)" if report.duplicates else ""), ms
        return f"link down: {report.error.code}, {report.remaining} queued", ms

    def _check_same_run(self) -> None:
        """A kept directory is picked up only by the run that made it (same seed, same count)."""
        params = self.root / "logs" / "demo-run.json"
        mine = {"seed": self.seed, "applicants": self.count}
        if params.exists():
            theirs = json.loads(params.read_text("utf-8"))
            if theirs != mine:
                raise DemoRefused(
                    f"{self.root} holds a demo run with {theirs}: pick it up with the same options, "
                    "or use another directory"
                )
        else:
            params.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            params.write_text(json.dumps(mine), "utf-8")

    def run(self) -> DemoReport:
        # The county's link is down: a port bound for the whole run and never listened on refuses
        # every connection, and no server started meanwhile can be given it (a port only looked up
        # free was once handed to the central service next, and the "down" link reached it).
        with socket.socket() as dead:
            dead.bind(("127.0.0.1", 0))
            self.dead_link = f"http://127.0.0.1:{dead.getsockname()[1]}"
            return self._run()

    def _run(self) -> DemoReport:
        self._check_same_run()
        done = {row["index"]: row for row in _jsonl(self.journal)}
        try:
            self.central.start()
        except RuntimeError as error:
            raise DemoRefused(str(error)) from None
        kiosk = None
        try:
            kiosk = self.start_kiosk()
            start = {
                "done": len(done),
                "drafts_wiped": kiosk.drafts_wiped_at_start,
                "queued": kiosk.outbox.status()["queued"],
            }
            if done or kiosk.drafts_wiped_at_start:
                self.progress(
                    f"picked up a run: {start['done']} applicants done, {start['drafts_wiped']} half-done "
                    f"draft(s) wiped at start, {start['queued']} envelope(s) still queued"
                )
            applicants = make_applicants(
                self.count,
                seed=self.seed,
                today=self.today,
                county=kiosk.config.terminal.county,
                catalogue=kiosk.config.catalogue,
            )
            pin = self.first_contact(kiosk, applicants)
            agent = kiosk.agents.login(AGENT_ID, pin)
            for applicant in applicants:
                if applicant.index in done:
                    continue
                session, answers, card, face_frames = self._session(kiosk, applicant, agent)
                self.progress(f"applicant {applicant.index} started ({applicant.scenario})")
                session.run(answers, card.before_try)
                if session.outcome.submitted:
                    _append(
                        self.entered,
                        {
                            "index": applicant.index,
                            "application_id": session.outcome.application_id,
                            "record": entered_record(session),
                        },
                    )
                frames = card.frames_shown + face_frames * session.outcome.attempts("liveness")
                row = _row(applicant, session, frames, *self._sync(kiosk, applicant.index))
                _append(self.journal, row.as_json())
                done[applicant.index] = row.as_json()
                self.progress(f"applicant {applicant.index} done: {row.end}, {row.decision}, {row.sync}")
            final = kiosk.sync_client(self.central.url).sync_once()  # the link is back: drain
            status = kiosk.status()
            drafts_left = status["drafts"]
            audit_ok = not kiosk.audit.verify()
        finally:
            if kiosk is not None:
                kiosk.close()
            self.central.stop()
        exported = self.central.open_delivered(self.export)
        rows = [DemoRow(**done[i]) for i in sorted(done)]
        report = DemoReport(self.root, rows)
        self._verify(report, exported.failed)
        report.summary |= {
            "at_start": start,
            "queued_after_sync": final.remaining,
            "drafts_left": drafts_left,
            "audit_chain_intact": audit_ok,
            "model_version": status["model_version"],
            "central_stored": self.central.stored_envelopes(),
        }
        if final.remaining or not final.ok:
            report.problems.append(f"the last sync left {final.remaining} envelope(s) queued ({final.error})")
        if drafts_left:
            report.problems.append(f"{drafts_left} draft(s) left on the terminal")
        if not audit_ok:
            report.problems.append("the audit chain does not verify")
        return report

    # --- the back office's comparison -----------------------------------------------------

    def _verify(self, report: DemoReport, open_failures: list[tuple[str, str]]) -> None:
        by_envelope = {line["meta"]["envelope_id"]: line["application"] for line in _jsonl(self.export)}
        arrived = Counter(app["application_id"] for app in by_envelope.values())
        applications = {app["application_id"]: app for app in by_envelope.values()}
        entered = {e["application_id"]: e for e in _jsonl(self.entered)}
        submitted = [row for row in report.rows if row.application_id]
        missing = [row.index for row in submitted if row.application_id not in applications]
        altered = {}
        for row in submitted:
            app = applications.get(row.application_id)
            record = entered.get(row.application_id)
            if app is None or record is None:
                continue
            got = application_record(app)
            fields = sorted(k for k in record["record"] if got.get(k) != record["record"][k])
            if fields:
                altered[row.index] = fields
        duplicated = sorted(a for a, n in arrived.items() if n > 1)
        known = {row.application_id for row in submitted}
        unseen = sorted(set(applications) - known)  # sealed just before a kill, before the journal line
        report.summary |= {
            "applicants": len(report.rows),
            "submitted": len(submitted),
            "outcomes": dict(Counter(row.decision for row in submitted)),
            "stopped": dict(Counter(row.end for row in report.rows if not row.application_id)),
            "arrived": len(applications),
            "arrived_intact": len(submitted) - len(missing) - len(altered),
            "missing": missing,
            "altered": altered,
            "duplicated": duplicated,
            "arrived_unjournaled": len(unseen),
            "open_failures": [f"{e}: {c}" for e, c in open_failures],
            "cards_read_as_printed": f"{sum(1 for r in report.rows if r.read_as_printed)}"
            f"/{sum(1 for r in report.rows if r.read_as_printed is not None)}",
            "export": str(self.export),
        }
        if missing:
            report.problems.append(f"applications of applicants {missing} did not arrive")
        if altered:
            report.problems.append(f"applications arrived altered: {altered}")
        if duplicated:
            report.problems.append(f"{len(duplicated)} application(s) arrived twice")
        if open_failures:
            report.problems.append(f"{len(open_failures)} envelope(s) could not be opened")


def run_demo(
    applicants: int = 10,
    seed: int = 11,
    keep: Path | None = None,
    *,
    offline_first: int = 0,
    progress: Callable[[str], None] = lambda line: None,
) -> DemoReport:
    root = keep or Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return DemoRun(root, applicants=applicants, seed=seed, offline_first=offline_first, progress=progress).run()
