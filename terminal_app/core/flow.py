"""The application flow as an explicit state machine, UI-free.

    CONSENT → ID_CAPTURE → LIVENESS → FORM → SCORING → OFFER → CONFIRMATION → RECEIPT → COMPLETED
                                                       └─ refer / decline ──────────┘
    any step ── cancel / idle / step timeout / attempts used up / consent refused ──► ABANDONED

The flow never calls an engine: a caller (the headless session, the Kivy screens) runs the
engine and hands the result in. The flow re-checks what it is given (an ID number is validated
again here, whatever read it), keeps the draft encrypted in the vault after every change, and
wipes it on every way out except submission. It announces step changes, timeouts and wipes to
its `listeners` (core.events). It belongs to the kiosk's core thread (core/core_thread.py): a
call from another thread raises WrongThread.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum

from kiosk_config.schema import KioskConfig
from terminal_app.core.agents import AgentSession, agent_actor
from terminal_app.core.audit import AuditLog
from terminal_app.core.core_thread import CoreThread
from terminal_app.core.decision import IDENTITY_BY_AGENT, Decision, Outcome, decide_with_offer, for_review
from terminal_app.core.ethnic_groups import ETHNIC_GROUPS
from terminal_app.core.events import DraftWiped, Listener, StepChanged, TimedOut
from terminal_app.core.form import FormProblem, check_form
from terminal_app.core.id_number import IdNumberCheck, printed_field_mismatches, validate_id_number
from terminal_app.core.offer import Offer
from terminal_app.core.outbox import Outbox
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.scoring import LivenessSignals, ScoringRequest
from terminal_app.core.steps import (
    ConsentRecord,
    FormAnswers,
    IdCardFields,
    IdSource,
    LivenessResult,
    ScoreResult,
)
from terminal_app.core.vault import Vault

log = logging.getLogger(__name__)


# The card fields an agent may pick for an applicant when the capture could not read them, and
# the list each is picked from.
PICK_LISTS: dict[str, tuple[str, ...]] = {"ethnicity": tuple(ETHNIC_GROUPS)}


class Step(StrEnum):
    CONSENT = "consent"
    ID_CAPTURE = "id_capture"
    LIVENESS = "liveness"
    FORM = "form"
    SCORING = "scoring"
    OFFER = "offer"
    CONFIRMATION = "confirmation"
    RECEIPT = "receipt"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


ENDED = frozenset({Step.COMPLETED, Step.ABANDONED})
# Steps where the applicant is expected to touch the screen; idle there wipes the draft.
IDLE_WATCHED = frozenset({Step.CONSENT, Step.ID_CAPTURE, Step.LIVENESS, Step.FORM, Step.OFFER, Step.CONFIRMATION})


class EndReason(StrEnum):
    SUBMITTED = "submitted"
    CANCELLED = "cancelled"
    IDLE = "idle"
    STEP_TIMEOUT = "step_timeout"
    CONSENT_REFUSED = "consent_refused"
    ID_ATTEMPTS_USED = "id_attempts_used"
    LIVENESS_FAILED = "liveness_failed"
    OFFER_REJECTED = "offer_rejected"
    DEVICE_UNAVAILABLE = "device_unavailable"  # the camera is missing or lost: the agent is called


class WrongStep(ReasonError):
    """An input for a step the flow is not at (a stale touch, a bug in the caller)."""


class FlowEnded(ReasonError):
    """The flow has ended (timed out, cancelled, submitted); start a new one."""


class StepRejected(ReasonError):
    """The input was refused; the flow stays at the same step, or ends if attempts ran out."""


def _jsonable(value: object) -> object:
    """Dates as ISO text, images (portrait, key frame) as base64."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


@dataclass(frozen=True)
class AgentCheck:
    """The no-face path: the assisting agent looked at the person and the card and signed with
    their PIN, instead of the face check the applicant declined."""

    agent_id: str
    confirmed_at: float  # wall-clock time


@dataclass
class Draft:
    """Everything the application holds so far. Lives in memory and, encrypted, in the vault."""

    consent: ConsentRecord | None = None
    card: IdCardFields | None = None
    id_check: IdNumberCheck | None = None
    liveness: LivenessResult | None = None
    form: FormAnswers | None = None
    scores: ScoreResult | None = None
    decision: Decision | None = None
    offer: Offer | None = None
    agent_check: AgentCheck | None = None  # the no-face path: an agent confirmed the person
    picked: dict[str, str] = field(default_factory=dict)  # card fields an agent picked from a list: by whom
    id_attempts: int = 0
    liveness_attempts: int = 0
    amount_edits: int = 0

    def as_json(self) -> dict:
        out: dict = {
            "id_attempts": self.id_attempts,
            "liveness_attempts": self.liveness_attempts,
            "amount_edits": self.amount_edits,
        }
        if self.consent:
            out["consent"] = asdict(self.consent)
        if self.card:
            out["card"] = {k: _jsonable(v) for k, v in asdict(self.card).items()}
        if self.id_check:
            out["region"] = self.id_check.as_json()["region"]
        if self.liveness:
            out["liveness"] = {k: _jsonable(v) for k, v in asdict(self.liveness).items()}
        if self.agent_check:
            out["identity_check"] = {"by": "agent", **asdict(self.agent_check)}
        if self.picked:
            out["card_fields_picked_by"] = dict(self.picked)
        if self.form:
            out["form"] = self.form.as_json()
        if self.scores:
            out["scores"] = {
                "fraud_score": self.scores.fraud_score,
                "credit_score": self.scores.credit_score,
                "model_version": self.scores.model_version,
                "fraud_reasons": [r.as_dict() for r in self.scores.fraud_reasons],
                "credit_reasons": [r.as_dict() for r in self.scores.credit_reasons],
                "details": self.scores.details,
            }
        if self.decision:
            out["decision"] = {
                "outcome": str(self.decision.outcome),
                "reasons": [r.as_dict() for r in self.decision.reasons],
            }
        if self.offer:
            out["offer"] = self.offer.as_json()
        return out


@dataclass
class FlowState:
    """What a screen needs to show: the step, time left, the last error, how it ended."""

    step: Step
    seconds_left: float
    error: Reason | None = None
    end_reason: EndReason | None = None
    application_id: str | None = None
    decision: Decision | None = None
    offer: Offer | None = None
    attempts_left: int | None = None
    idle_seconds_left: float | None = None  # before an idle applicant's session is wiped (None: not watched)
    face_declined: bool = False  # the identity step is the agent's check, not the face check
    unread: tuple[str, ...] = ()  # card fields still to be picked by an agent before the identity step
    extra: dict = field(default_factory=dict)


class ApplicationFlow:
    """One applicant's session at the kiosk."""

    def __init__(
        self,
        config: KioskConfig,
        vault: Vault,
        audit: AuditLog,
        outbox: Outbox,
        *,
        agent: AgentSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        today: Callable[[], date] = date.today,
        core: CoreThread | None = None,
    ):
        self._core = core or CoreThread.here()
        self._core.check("the application flow")
        self.listeners: list[Listener] = []  # told every event (core.events), on the core thread
        self.config = config
        self.session_id = str(uuid.uuid4())
        self.draft = Draft()
        self.step = Step.CONSENT
        self.end_reason: EndReason | None = None
        self.application_id: str | None = None
        self.envelope_id: str | None = None  # the outbox envelope the application was sealed into
        self.last_error: Reason | None = None
        self._vault = vault
        self._audit = audit
        self._outbox = outbox
        self._agent = agent
        self._clock = clock
        self._wall = wall_clock
        self._today = today
        now = clock()
        self._step_started = now
        self._last_activity = now
        self._audit.append("session_started", session=self.session_id, assisted=agent is not None)
        self._persist()

    # --- time -------------------------------------------------------------------------

    def _step_timeout(self) -> float:
        return float(getattr(self.config.timeouts, self.step.value))

    def seconds_left(self) -> float:
        if self.step in ENDED:
            return 0.0
        now = self._clock()
        left = self._step_timeout() - (now - self._step_started)
        if self.step in IDLE_WATCHED:
            left = min(left, self.config.terminal.idle_timeout_s - (now - self._last_activity))
        return max(0.0, left)

    def idle_seconds_left(self) -> float | None:
        """Before the applicant, idle, loses the session (None where idleness is not watched)."""
        if self.step not in IDLE_WATCHED:
            return None
        return max(0.0, self.config.terminal.idle_timeout_s - (self._clock() - self._last_activity))

    def touch(self) -> None:
        """The applicant or agent did something: the idle timer starts again."""
        self.tick()
        self._last_activity = self._clock()

    def tick(self) -> Step:
        """Apply timeouts; call it from the UI's clock. Returns the step after it."""
        self._core.check("the application flow")
        if self.step in ENDED:
            return self.step
        now = self._clock()
        if self.step in IDLE_WATCHED and now - self._last_activity >= self.config.terminal.idle_timeout_s:
            self.announce(TimedOut(self.session_id, str(self.step), str(EndReason.IDLE)))
            self._abandon(EndReason.IDLE)
        elif now - self._step_started >= self._step_timeout():
            if self.step is Step.RECEIPT:
                self._complete()
            else:
                self.announce(TimedOut(self.session_id, str(self.step), str(EndReason.STEP_TIMEOUT)))
                self._abandon(EndReason.STEP_TIMEOUT)
        return self.step

    def announce(self, event: object) -> None:
        """Tell every listener `event` (a listener that fails is logged, not propagated)."""
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a screen's bug must not stop the flow half-way through a change
                log.exception("a flow listener failed on %s", type(event).__name__)

    # --- transitions ------------------------------------------------------------------

    def _expect(self, step: Step) -> None:
        self.tick()
        if self.step in ENDED:
            raise FlowEnded(Reason(f"ended_{self.end_reason}", key="flow_ended", end_reason=self.end_reason))
        if self.step is not step:
            raise WrongStep(Reason("wrong_step", expected=self.step, given=step))
        self._last_activity = self._clock()

    def _enter(self, step: Step) -> None:
        previous = self.step
        self.step = step
        self._step_started = self._last_activity = self._clock()
        self.last_error = None
        self._audit.append("step", session=self.session_id, step_from=str(previous), step_to=str(step))
        if step not in ENDED and self.application_id is None:  # once submitted, no draft is kept
            self._persist()
        self.announce(StepChanged(self.session_id, str(previous), str(step)))

    def _persist(self) -> None:
        self._vault.save_draft(self.session_id, str(self.step), self.draft.as_json())

    def _reject(self, reason: Reason, *, end: EndReason | None = None) -> StepRejected:
        self._audit.append("step_rejected", session=self.session_id, step=str(self.step), reason=reason.code)
        if end is not None:
            self._abandon(end)
        else:
            self._persist()
        self.last_error = reason  # shown with the step it left the flow at, ended or not
        return StepRejected(reason)

    def _abandon(self, reason: EndReason) -> None:
        self.draft = Draft()
        self.end_reason = reason
        self._vault.wipe_draft(self.session_id)
        self._enter(Step.ABANDONED)
        self._audit.append("draft_wiped", session=self.session_id, reason=str(reason))
        self.announce(DraftWiped(self.session_id, str(reason)))

    def _complete(self) -> None:
        self.draft = Draft()
        self.end_reason = EndReason.SUBMITTED
        self._enter(Step.COMPLETED)

    def cancel(self) -> None:
        """The applicant or agent pressed cancel: the draft is wiped at once."""
        self._core.check("the application flow")
        if self.step is Step.RECEIPT:
            self._complete()
        elif self.step not in ENDED:
            self._abandon(EndReason.CANCELLED)

    def begin(self, step: Step) -> None:
        """A step's work starts (a camera step's engine): refused unless the flow is at `step`, and
        the face check refused outright to an applicant who declined it, or while a card field
        is still to be picked."""
        self._expect(step)
        if step is Step.LIVENESS:
            self._identity_step_open()

    def _identity_step_open(self, *, by_agent: bool = False) -> None:
        """The identity step (face, or the agent's check) may run: the card complete, and the way
        the applicant consented to."""
        card = self.draft.card
        if card is not None and card.unread:
            raise self._reject(Reason("card_field_unread", field=card.unread[0]))
        if by_agent and not self.face_declined:
            raise self._reject(Reason("agent_check_not_allowed"))
        if not by_agent and self.face_declined:
            raise self._reject(Reason("face_declined"))

    def pick_card_field(self, name: str, value: str) -> None:
        """A logged-in agent picks a card field the capture could not read (the ethnicity) from its
        list, asking the applicant: never typed, never a field that was read, never the number."""
        self._expect(Step.LIVENESS)
        card = self.draft.card
        assert card is not None  # LIVENESS follows an accepted card
        if self._agent is None:
            raise self._reject(Reason("agent_required"))
        if name not in card.unread or name not in PICK_LISTS or value not in PICK_LISTS[name]:
            raise self._reject(Reason("not_pickable", field=name))
        self.draft.card = dataclasses.replace(card, unread=tuple(f for f in card.unread if f != name), **{name: value})
        self.draft.picked[name] = self._agent.agent_id
        self._audit.append("card_field_picked", actor=agent_actor(self._agent), session=self.session_id, field=name)
        self._persist()

    @property
    def face_declined(self) -> bool:
        return self.draft.consent is not None and not self.draft.consent.biometrics

    def give_consent(self, consent: ConsentRecord) -> None:
        """Both consents, or (with an agent assisting) the ID data alone: the agent then confirms
        the person instead of the face check, and the application goes to a person's review.
        Without the ID data, or declining face checks with no agent, the session ends."""
        self._expect(Step.CONSENT)
        no_face_path = consent.id_data and not consent.biometrics and self._agent is not None
        if not (consent.id_data and (consent.biometrics or no_face_path)):
            missing = "biometrics" if consent.id_data else "id_data"
            self.draft.consent = None
            raise self._reject(
                Reason("consent_refused", missing=missing),
                end=EndReason.CONSENT_REFUSED,
            )
        self.draft.consent = consent
        self._audit.append(
            "consent", session=self.session_id, text_version=consent.text_version, biometrics=consent.biometrics
        )
        self._enter(Step.ID_CAPTURE)

    def submit_id(self, card: IdCardFields) -> IdNumberCheck:
        """Accept the card's fields only if the number validates and agrees with the printed fields."""
        self._expect(Step.ID_CAPTURE)
        if card.source is IdSource.AGENT_ENTRY and self._agent is None:
            raise self._reject(
                Reason("agent_required")
            )
        self.draft.id_attempts += 1
        identity = self.config.identity
        check = validate_id_number(
            card.id_number, today=self._today(), min_age=identity.min_age, max_age=identity.max_age
        )
        problems = [check.reason] if not check.valid else []
        problems += printed_field_mismatches(check, birth_date=card.birth_date, sex=card.sex)
        if problems:
            permanent = check.reason.code in ("age_too_low", "age_too_high")
            used_up = self.draft.id_attempts >= identity.max_capture_attempts
            raise self._reject(problems[0], end=EndReason.ID_ATTEMPTS_USED if permanent or used_up else None)
        self.draft.card = card
        self.draft.id_check = check
        self._enter(Step.LIVENESS)
        return check

    def capture_failed(self, reason: Reason) -> None:
        """The capture engine could not read a valid card (blurred, not a card, a number that
        fails its check character): one attempt is used, and the last one ends the session."""
        self._expect(Step.ID_CAPTURE)
        self.draft.id_attempts += 1
        used_up = self.draft.id_attempts >= self.config.identity.max_capture_attempts
        raise self._reject(reason, end=EndReason.ID_ATTEMPTS_USED if used_up else None)

    def retake_card(self) -> None:
        """The applicant finds the card read wrong (the card check): read it again. The try that
        read it stays counted; refused once the face check has been tried or no try is left."""
        self._expect(Step.LIVENESS)
        if self.draft.liveness_attempts or self.draft.id_attempts >= self.config.identity.max_capture_attempts:
            raise self._reject(Reason("retake_not_allowed"))
        self.draft.card, self.draft.id_check = None, None
        self._audit.append("card_retake", session=self.session_id)
        self._enter(Step.ID_CAPTURE)

    def device_failed(self, reason: Reason) -> None:
        """The camera cannot be used (missing, unplugged): the draft is wiped and the session ends
        with the reason shown, for the agent to fix the device or type the card in."""
        self._core.check("the application flow")
        if self.step in ENDED:
            return
        self._audit.append("device_failed", session=self.session_id, step=str(self.step), reason=reason.code)
        self._abandon(EndReason.DEVICE_UNAVAILABLE)
        self.last_error = reason

    def confirm_identity_by_agent(self) -> None:
        """The no-face path's identity step: the assisting agent confirmed the person against the
        card and signed with their PIN (checked by the caller, `ApplicantSession.confirm_by_agent`)."""
        self._expect(Step.LIVENESS)
        if self._agent is None:
            raise self._reject(Reason("agent_check_not_allowed"))
        self._identity_step_open(by_agent=True)
        self.draft.agent_check = AgentCheck(self._agent.agent_id, self._wall())
        self._audit.append("identity_confirmed_by_agent", actor=agent_actor(self._agent), session=self.session_id)
        self._enter(Step.FORM)

    def submit_liveness(self, result: LivenessResult) -> None:
        self._expect(Step.LIVENESS)
        self._identity_step_open()
        self.draft.liveness_attempts += 1
        if not (result.passed and result.face_match_passed):
            used_up = self.draft.liveness_attempts >= self.config.identity.max_liveness_attempts
            reason = (
                Reason("liveness_failed", detail=result.reason)
                if not result.passed
                else Reason("face_mismatch")
            )
            raise self._reject(reason, end=EndReason.LIVENESS_FAILED if used_up else None)
        self.draft.liveness = result
        self._enter(Step.FORM)

    def submit_form(self, answers: FormAnswers) -> None:
        self._expect(Step.FORM)
        try:
            check_form(self.config.catalogue, answers)
        except FormProblem as problem:
            raise self._reject(problem.reason) from None
        if self.draft.form is not None and self.draft.form.amount != answers.amount:
            self.draft.amount_edits += 1
        self.draft.form = answers
        self._enter(Step.SCORING)

    def scoring_request(self, local_time: datetime | None = None) -> ScoringRequest:
        """What the scorer reads about this application (at the SCORING step)."""
        self._expect(Step.SCORING)
        card, liveness, form = self.draft.card, self.draft.liveness, self.draft.form
        assert card is not None and form is not None and (liveness or self.draft.agent_check)  # the steps before
        signals = (
            LivenessSignals(
                spoof_score=liveness.spoof_score,
                face_match_score=liveness.face_match_score,
                attempts=self.draft.liveness_attempts,
            )
            if liveness is not None
            else LivenessSignals(spoof_score=0.0, face_match_score=None, attempts=1)  # an agent saw the person
        )
        return ScoringRequest(
            id_number=card.id_number,
            id_source=card.source,
            id_attempts=self.draft.id_attempts,
            form=form,
            liveness=signals,
            agent_assisted=self._agent is not None,
            amount_edits=self.draft.amount_edits,
            # the date the ID number was checked against, the hour of the wall clock
            local_time=local_time or datetime.combine(self._today(), datetime.fromtimestamp(self._wall()).time()),
        )

    def submit_scores(self, scores: ScoreResult) -> Decision:
        """The scoring engine's result: decide, make the offer, or submit a refer/decline."""
        self._expect(Step.SCORING)
        for name in ("fraud_score", "credit_score"):
            if not 0 <= getattr(scores, name) <= 1000:
                raise self._reject(Reason("score_range", name=name))
        form = self.draft.form
        assert form is not None  # the flow reached SCORING through FORM
        decision, offer = decide_with_offer(scores, self.config.risk, self.config.catalogue, form)
        if self.draft.agent_check is not None:  # no face check: a person reviews it, whatever the scores
            decision, offer = for_review(decision, IDENTITY_BY_AGENT), None
        self.draft.scores, self.draft.decision, self.draft.offer = scores, decision, offer
        self._audit.append("decision", session=self.session_id, outcome=str(decision.outcome))
        if offer is None:
            self._submit()
            self._enter(Step.RECEIPT)
        else:
            self._enter(Step.OFFER)
        return decision

    def submit_unscored(self, problem: str) -> Decision:
        """The terminal could not score the application (e.g. a purpose the model in force has no
        mapping for): it is referred to a person with the reason, never declined or dropped."""
        self._expect(Step.SCORING)
        decision = Decision(
            Outcome.REFER,
            (
                Reason("not_scored", problem=problem),
            ),
        )
        self.draft.decision = decision
        self._audit.append("decision", session=self.session_id, outcome=str(decision.outcome), scored=False)
        self._submit()
        self._enter(Step.RECEIPT)
        return decision

    def accept_offer(self) -> None:
        self._expect(Step.OFFER)
        self._enter(Step.CONFIRMATION)

    def reject_offer(self) -> None:
        self._expect(Step.OFFER)
        self._abandon(EndReason.OFFER_REJECTED)

    def confirm(self) -> str:
        """The applicant signs on screen: the application is submitted. Returns its id."""
        self._expect(Step.CONFIRMATION)
        self._submit()
        self._enter(Step.RECEIPT)
        assert self.application_id is not None
        return self.application_id

    def finish(self) -> None:
        self._expect(Step.RECEIPT)
        self._complete()

    def _submit(self) -> None:
        """Seal the application into the outbox and drop the draft, in one transaction. On a full
        disk VaultError propagates and the draft stays, so the applicant can confirm again."""
        application_id = str(uuid.uuid4())
        payload = {
            "application_id": application_id,
            "session_id": self.session_id,
            "terminal_id": self.config.terminal.id,
            "county": self.config.terminal.county,
            "submitted_at": self._wall(),
            "agent_id": self._agent.agent_id if self._agent else None,
            **self.draft.as_json(),
        }
        meta = self._outbox.submit(payload, drop_draft=self.session_id)
        self.application_id, self.envelope_id = application_id, meta.envelope_id
        self._audit.append("submitted", session=self.session_id, application=application_id, envelope=meta.envelope_id)

    # --- view ---------------------------------------------------------------------------

    def state(self) -> FlowState:
        self.tick()
        attempts_left = None
        if self.step is Step.ID_CAPTURE:
            attempts_left = self.config.identity.max_capture_attempts - self.draft.id_attempts
        elif self.step is Step.LIVENESS:
            attempts_left = self.config.identity.max_liveness_attempts - self.draft.liveness_attempts
        return FlowState(
            step=self.step,
            seconds_left=self.seconds_left(),
            idle_seconds_left=self.idle_seconds_left(),
            error=self.last_error,
            end_reason=self.end_reason,
            application_id=self.application_id,
            decision=self.draft.decision,
            offer=self.draft.offer,
            attempts_left=attempts_left,
            face_declined=self.face_declined,
            unread=self.draft.card.unread if self.draft.card else (),
        )


def wipe_abandoned_drafts(vault: Vault, audit: AuditLog) -> int:
    """At start-up: drafts left by a crash or power cut belong to nobody any more; wipe them."""
    count = 0
    for session_id in vault.draft_ids():
        if vault.wipe_draft(session_id):
            audit.append("draft_wiped", session=session_id, reason="restart")
            count += 1
    return count
