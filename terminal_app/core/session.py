"""The headless applicant session: one applicant through the flow, each step run by its real
engine and the result handed to the flow. The Kivy screens drive the same object one step at a
time (`give_consent`, `capture_card`, `check_liveness`, ...); `run()` walks every step for the
demo, the CLI and the benchmark.

The session knows the engines only through core.engines (a capture engine and a liveness engine
over camera sources, the kiosk's on-device scorer) and the applicant only through
`ApplicantAnswers`; nothing here touches a file or a screen. Each step's machine time is kept.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from terminal_app.core.agents import AgentSession
from terminal_app.core.decision import Decision
from terminal_app.core.engines import CaptureUnavailable, IdCaptureEngine, LivenessEngine
from terminal_app.core.flow import ENDED, ApplicationFlow, EndReason, Step, StepRejected
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.offer import Offer
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.steps import ConsentRecord, FormAnswers, IdCardFields, LivenessResult, ScoreResult

CAMERA_UNAVAILABLE = "camera_unavailable"


class ApplicantAnswers(Protocol):
    """What the applicant (or the agent beside them) answers when the kiosk asks."""

    def consent(self) -> ConsentRecord: ...

    def form(self) -> FormAnswers: ...

    def accepts(self, offer: Offer) -> bool: ...


@dataclass
class GivenAnswers:
    """Answers given up front (a form file, the demo's script): the same each time asked."""

    form_answers: FormAnswers
    consented: bool = True  # both consents, ID data and biometrics, on `consent_text`
    accept_offer: bool = True
    consent_text: str = "consent-v1"
    language: str = "zh"
    given_at: float = field(default_factory=time.time)

    def consent(self) -> ConsentRecord:
        return ConsentRecord(self.consented, self.consented, self.consent_text, self.language, self.given_at)

    def form(self) -> FormAnswers:
        return self.form_answers

    def accepts(self, offer: Offer) -> bool:
        return self.accept_offer


@dataclass(frozen=True)
class StepRun:
    """One try of one step: capture, liveness, form, scoring, offer, seal."""

    step: str
    attempt: int
    ms: float  # machine time, engine and flow together
    ok: bool
    code: str = ""  # the reason code when refused, else a short result ("approve", "accepted")


@dataclass
class SessionOutcome:
    """How one applicant's session went: every step's tries, and what was decided and sealed."""

    session_id: str
    end_reason: EndReason | None = None
    consent: ConsentRecord | None = None
    steps: list[StepRun] = field(default_factory=list)
    card: IdCardFields | None = None  # as accepted by the flow
    liveness: LivenessResult | None = None  # the last check's result, passed or not
    form: FormAnswers | None = None
    scores: ScoreResult | None = None
    decision: Decision | None = None
    offer: Offer | None = None
    application_id: str | None = None
    envelope_id: str | None = None

    @property
    def submitted(self) -> bool:
        return self.application_id is not None

    @property
    def ms(self) -> float:
        """The session's machine time: every try of every step."""
        return sum(run.ms for run in self.steps)

    def step_ms(self, step: str) -> float:
        """All tries of `step` together (0.0 if it was never reached)."""
        return sum(run.ms for run in self.steps if run.step == step)

    def attempts(self, step: str) -> int:
        return sum(1 for run in self.steps if run.step == step)

    @property
    def stopped_by(self) -> StepRun | None:
        """The refused try that ended the session, if one did."""
        refused = [run for run in self.steps if not run.ok]
        return refused[-1] if refused and not self.submitted else None


class ApplicantSession:
    """One applicant at the kiosk: the flow, the engines and the answers."""

    def __init__(
        self,
        kiosk: Kiosk,
        capture: IdCaptureEngine,
        liveness: LivenessEngine,
        answers: ApplicantAnswers,
        *,
        agent: AgentSession | None = None,
    ):
        self.kiosk = kiosk
        self.capture = capture
        self.liveness = liveness
        self.answers = answers
        self.agent = agent
        self.flow: ApplicationFlow = kiosk.new_application(agent)
        self.outcome = SessionOutcome(self.flow.session_id)

    @property
    def step(self) -> Step:
        return self.flow.step

    def _record(self, step: str, started: float, ok: bool, code: str = "") -> bool:
        attempt = self.outcome.attempts(step) + 1
        self.outcome.steps.append(StepRun(step, attempt, (time.perf_counter() - started) * 1000, ok, code))
        return ok

    def _unavailable(self, step: str, started: float, problem: CaptureUnavailable) -> bool:
        reason = Reason(CAMERA_UNAVAILABLE, "摄像头无法使用，请联系工作人员", f"The camera cannot be used: {problem}")
        self.flow.device_failed(reason)
        return self._record(step, started, False, CAMERA_UNAVAILABLE)

    # --- the steps, one at a time (what a screen's button does) ----------------------------

    def give_consent(self) -> bool:
        started = time.perf_counter()
        consent = self.answers.consent()
        try:
            self.flow.give_consent(consent)
        except StepRejected as rejected:
            return self._record("consent", started, False, rejected.reason.code)
        self.outcome.consent = consent
        return self._record("consent", started, True)

    def capture_card(self) -> bool:
        """One try at reading the card; True once the flow has accepted it."""
        started = time.perf_counter()
        try:
            card = self.capture.read_card()
            self.flow.submit_id(card)  # the flow checks the number again, and the age
        except CaptureUnavailable as problem:
            return self._unavailable("capture", started, problem)
        except StepRejected as rejected:
            return self._record("capture", started, False, rejected.reason.code)
        except ReasonError as unread:  # the engine could not read a valid card: one attempt used
            with contextlib.suppress(StepRejected):  # it always refuses; it may end the session
                self.flow.capture_failed(unread.reason)
            return self._record("capture", started, False, unread.reason.code)
        self.outcome.card = card
        return self._record("capture", started, True)

    def check_liveness(self) -> bool:
        """One liveness check against the accepted card's photo; True once the flow moved on."""
        started = time.perf_counter()
        portrait = self.outcome.card.portrait_jpeg if self.outcome.card else None
        try:
            result = self.liveness.check(portrait)
        except CaptureUnavailable as problem:
            return self._unavailable("liveness", started, problem)
        self.outcome.liveness = result
        try:
            self.flow.submit_liveness(result)
        except StepRejected as rejected:
            code = result.reason or rejected.reason.code  # the check's own reason (spoof, timeout) says more
            return self._record("liveness", started, False, code)
        return self._record("liveness", started, True)

    def fill_form(self) -> bool:
        started = time.perf_counter()
        answers = self.answers.form()
        try:
            self.flow.submit_form(answers)
        except StepRejected as rejected:
            return self._record("form", started, False, rejected.reason.code)
        self.outcome.form = answers
        return self._record("form", started, True)

    def score(self) -> Decision:
        started = time.perf_counter()
        decision = self.kiosk.score(self.flow)
        self.outcome.scores = self.flow.draft.scores
        self.outcome.decision, self.outcome.offer = decision, self.flow.draft.offer
        self._record("scoring", started, True, str(decision.outcome))
        return decision

    def answer_offer(self) -> bool:
        """The applicant accepts or turns down the offer on screen."""
        started = time.perf_counter()
        offer = self.flow.draft.offer
        assert offer is not None  # the flow is at OFFER only with an offer
        if self.answers.accepts(offer):
            self.flow.accept_offer()
            return self._record("offer", started, True, "accepted")
        self.flow.reject_offer()
        return self._record("offer", started, True, "turned_down")

    def confirm(self) -> str:
        """The applicant signs: the application is sealed into the outbox."""
        started = time.perf_counter()
        application_id = self.flow.confirm()
        self._record("seal", started, True)
        return application_id

    # --- the whole session -----------------------------------------------------------------

    def run(self, before_try: Callable[[Step, int], None] | None = None) -> SessionOutcome:
        """Every step in order until the flow ends (submitted, or stopped with its reason).
        `before_try(step, try_number)` runs before each card and liveness try, outside the
        steps' times: where a screen would ask the person to hold the card up again."""
        actions = {
            Step.CONSENT: self.give_consent,
            Step.ID_CAPTURE: self.capture_card,
            Step.LIVENESS: self.check_liveness,
            Step.SCORING: self.score,
            Step.OFFER: self.answer_offer,
            Step.CONFIRMATION: self.confirm,
            Step.RECEIPT: self.flow.finish,
        }
        while self.flow.step not in ENDED:
            if self.flow.step is Step.FORM:
                if not self.fill_form():  # answers from a script do not change: stop here
                    self.flow.cancel()
                continue
            step = self.flow.step
            if before_try is not None and step in (Step.ID_CAPTURE, Step.LIVENESS):
                before_try(step, self.outcome.attempts("capture" if step is Step.ID_CAPTURE else "liveness") + 1)
            actions[step]()
        self.outcome.end_reason = self.flow.end_reason
        self.outcome.application_id = self.flow.application_id
        self.outcome.envelope_id = self.flow.envelope_id
        return self.outcome
