"""The applicant session: one applicant through the flow, each step run by its real engine and
the result handed to the flow. A screen drives it one step at a time with the applicant's
answers (`give_consent(consent)`, `fill_form(answers)`, `answer_offer(accept)`), and runs each
camera step in two parts: the engine (`read_card`, `check_face`: any thread, stopped by the
run's signal, reporting frames, instructions and progress) and the flow's part
(`take_card`, `take_liveness`: the core thread). `run(answers)` walks every step for the demo,
the CLI and the benchmark; `SessionDriver` (core/session_driver.py) is the screens' threaded way.

The session knows the engines only through core.engines and the applicant only through what it
is handed; nothing here touches a file or a screen. Each step's machine time is kept.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from terminal_app.core.agents import AgentSession, LoginError
from terminal_app.core.decision import Decision
from terminal_app.core.engines import CaptureUnavailable, EngineRun, IdCaptureEngine, LivenessEngine
from terminal_app.core.events import Listener, StepFinished
from terminal_app.core.flow import ENDED, ApplicationFlow, EndReason, FlowEnded, Step, StepRejected, WrongStep
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.offer import Offer
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.steps import ConsentRecord, FormAnswers, IdCardFields, LivenessResult, ScoreResult

CAMERA_UNAVAILABLE = "camera_unavailable"


class ApplicantAnswers(Protocol):
    """A script of what the applicant answers when asked (`run`; a screen passes each answer in)."""

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


@dataclass
class EngineResult:
    """What a camera step's engine gave, for the flow's part of the step: the value (the card's
    fields, the liveness result) or why there is none, and the engine's machine time."""

    value: IdCardFields | LivenessResult | None
    unavailable: CaptureUnavailable | None = None  # the camera cannot be used
    unread: ReasonError | None = None  # the engine could not read a valid card
    ms: float = 0.0


class ApplicantSession:
    """One applicant at the kiosk: the flow and the engines. Every method but the engines' parts
    (`read_card`, `check_face`) runs on the kiosk's core thread."""

    def __init__(
        self,
        kiosk: Kiosk,
        capture: IdCaptureEngine,
        liveness: LivenessEngine,
        *,
        agent: AgentSession | None = None,
    ):
        self.kiosk = kiosk
        self.capture = capture
        self.liveness = liveness
        self.agent = agent
        self.flow: ApplicationFlow = kiosk.new_application(agent)
        self.outcome = SessionOutcome(self.flow.session_id)

    @property
    def step(self) -> Step:
        return self.flow.step

    def subscribe(self, listener: Listener) -> None:
        """`listener` is told the flow's events (core thread) and the camera steps' (their thread)."""
        self.flow.listeners.append(listener)

    def _emit(self, event: object) -> None:
        self.flow.announce(event)

    def _record(self, step: str, ms: float, ok: bool, code: str = "") -> bool:
        attempt = self.outcome.attempts(step) + 1
        self.outcome.steps.append(StepRun(step, attempt, ms, ok, code))
        return ok

    def _since(self, started: float) -> float:
        return (time.perf_counter() - started) * 1000

    def _unavailable(self, problem: CaptureUnavailable) -> tuple[bool, str]:
        reason = Reason("camera_unavailable", detail=problem)
        self.flow.device_failed(reason)
        return False, CAMERA_UNAVAILABLE

    def _engine_run(self, run: EngineRun | None) -> EngineRun:
        return run if run is not None else EngineRun(listener=self._emit if self.flow.listeners else None)

    # --- the steps, one at a time (what a screen's button does) ----------------------------

    def give_consent(self, consent: ConsentRecord) -> bool:
        started = time.perf_counter()
        try:
            self.flow.give_consent(consent)
        except StepRejected as rejected:
            return self._record("consent", self._since(started), False, rejected.reason.code)
        self.outcome.consent = consent
        return self._record("consent", self._since(started), True)

    def read_card(self, run: EngineRun | None = None) -> EngineResult:
        """The capture engine's part (any thread): read the card. StepCancelled propagates when
        `run.stop` is set; nothing is handed to the flow then and no attempt is used."""
        started = time.perf_counter()
        try:
            card = self.capture.read_card(self._engine_run(run))
        except CaptureUnavailable as problem:
            return EngineResult(None, unavailable=problem, ms=self._since(started))
        except ReasonError as unread:
            return EngineResult(None, unread=unread, ms=self._since(started))
        return EngineResult(card, ms=self._since(started))

    def take_card(self, result: EngineResult) -> bool:
        """The flow's part: hand it what the engine read; True once the flow accepted the card."""
        return self._hand_over("capture", Step.ID_CAPTURE, result, self._take_card)

    def _hand_over(
        self, step: str, flow_step: Step, result: EngineResult, take: Callable[[EngineResult], tuple[bool, str]]
    ) -> bool:
        """Hand an engine's result to the flow (`take`), keep the try's time and announce it."""
        started = time.perf_counter()
        try:
            ok, code = take(result)
        except (FlowEnded, WrongStep) as gone:  # the step's time ran out, or cancel, while the camera ran
            ok, code = False, gone.reason.code
        self._record(step, result.ms + self._since(started), ok, code)
        self._emit(StepFinished(self.flow.session_id, str(flow_step), ok, code))
        return ok

    def _take_card(self, result: EngineResult) -> tuple[bool, str]:
        if result.unavailable is not None:
            return self._unavailable(result.unavailable)
        if result.unread is not None:  # one attempt used; the last one ends the session
            with contextlib.suppress(StepRejected):  # it always refuses
                self.flow.capture_failed(result.unread.reason)
            return False, result.unread.reason.code
        card = result.value
        assert isinstance(card, IdCardFields)
        try:
            self.flow.submit_id(card)  # the flow checks the number again, and the age
        except StepRejected as rejected:
            return False, rejected.reason.code
        self.outcome.card = card
        return True, ""

    def retake_card(self) -> bool:
        """The card was read wrong (the applicant said so at the card check): read it again."""
        try:
            self.flow.retake_card()
        except StepRejected:
            return False
        self.outcome.card = None
        return True

    def capture_card(self, run: EngineRun | None = None) -> bool:
        """One try at reading the card, both parts on this thread; True once the flow accepted it."""
        return self.take_card(self.read_card(run))

    def check_face(self, run: EngineRun | None = None) -> EngineResult:
        """The liveness engine's part (any thread): the challenges and the match against the
        accepted card's photo. StepCancelled propagates when `run.stop` is set."""
        started = time.perf_counter()
        portrait = self.outcome.card.portrait_jpeg if self.outcome.card else None
        try:
            result = self.liveness.check(portrait, self._engine_run(run))
        except CaptureUnavailable as problem:
            return EngineResult(None, unavailable=problem, ms=self._since(started))
        return EngineResult(result, ms=self._since(started))

    def take_liveness(self, result: EngineResult) -> bool:
        """The flow's part: hand it the check's result; True once the flow moved on."""
        return self._hand_over("liveness", Step.LIVENESS, result, self._take_liveness)

    def _take_liveness(self, result: EngineResult) -> tuple[bool, str]:
        if result.unavailable is not None:
            return self._unavailable(result.unavailable)
        check = result.value
        assert isinstance(check, LivenessResult)
        self.outcome.liveness = check
        try:
            self.flow.submit_liveness(check)
        except StepRejected as rejected:
            return False, check.reason or rejected.reason.code  # the check's own reason (spoof, timeout) says more
        return True, ""

    def check_liveness(self, run: EngineRun | None = None) -> bool:
        """One liveness check, both parts on this thread; True once the flow moved on."""
        return self.take_liveness(self.check_face(run))

    def pick_card_field(self, name: str, value: str) -> bool:
        """The assisting agent picks a card field the capture could not read (False: refused, the
        reason in the flow's state)."""
        try:
            self.flow.pick_card_field(name, value)
        except StepRejected:
            return False
        if self.outcome.card is not None:
            self.outcome.card = self.flow.draft.card
        return True

    def confirm_by_agent(self, pin: str) -> bool:
        """The no-face path's identity step: the assisting agent, having compared the person with
        the card, signs with their PIN. False (the reason in the flow's state) on a wrong PIN, a
        lock, or where the path is not open (no agent, or face checks consented to)."""
        started = time.perf_counter()
        try:
            if self.agent is None:
                raise StepRejected(Reason("agent_check_not_allowed"))
            self.kiosk.agents.sign(self.agent, pin)
            self.flow.confirm_identity_by_agent()
        except LoginError as refused:
            self.flow.last_error = refused.reason
            return self._record("identity", self._since(started), False, refused.code)
        except StepRejected as rejected:
            self.flow.last_error = rejected.reason
            return self._record("identity", self._since(started), False, rejected.reason.code)
        return self._record("identity", self._since(started), True)

    def fill_form(self, answers: FormAnswers) -> bool:
        started = time.perf_counter()
        try:
            self.flow.submit_form(answers)
        except StepRejected as rejected:
            return self._record("form", self._since(started), False, rejected.reason.code)
        self.outcome.form = answers
        return self._record("form", self._since(started), True)

    def score(self) -> Decision:
        started = time.perf_counter()
        decision = self.kiosk.score(self.flow)
        self.outcome.scores = self.flow.draft.scores
        self.outcome.decision, self.outcome.offer = decision, self.flow.draft.offer
        self._record("scoring", self._since(started), True, str(decision.outcome))
        return decision

    def answer_offer(self, accept: bool) -> bool:
        """The applicant accepts or turns down the offer on screen (turned down: the draft is wiped)."""
        started = time.perf_counter()
        if accept:
            self.flow.accept_offer()
            return self._record("offer", self._since(started), True, "accepted")
        self.flow.reject_offer()
        return self._record("offer", self._since(started), True, "turned_down")

    def confirm(self) -> str:
        """The applicant signs: the application is sealed into the outbox."""
        started = time.perf_counter()
        application_id = self.flow.confirm()
        self._record("seal", self._since(started), True)
        return application_id

    def finish(self) -> SessionOutcome:
        """The receipt was seen (or the session ended another way): the outcome, complete."""
        if self.flow.step is Step.RECEIPT:
            self.flow.finish()
        self.outcome.end_reason = self.flow.end_reason
        self.outcome.application_id = self.flow.application_id
        self.outcome.envelope_id = self.flow.envelope_id
        return self.outcome

    # --- the whole session from a script ---------------------------------------------------

    def run(
        self, answers: ApplicantAnswers, before_try: Callable[[Step, int], None] | None = None
    ) -> SessionOutcome:
        """Every step in order with the scripted `answers` until the flow ends (submitted, or
        stopped with its reason). `before_try(step, try_number)` runs before each card and
        liveness try, outside the steps' times: where a screen would ask the person to hold the
        card up again."""
        while self.flow.step not in ENDED:
            step = self.flow.step
            if before_try is not None and step in (Step.ID_CAPTURE, Step.LIVENESS):
                before_try(step, self.outcome.attempts("capture" if step is Step.ID_CAPTURE else "liveness") + 1)
            if step is Step.CONSENT:
                self.give_consent(answers.consent())
            elif step is Step.ID_CAPTURE:
                self.capture_card()
            elif step is Step.LIVENESS and self.flow.face_declined:  # the no-face path: the agent signs
                pin = getattr(answers, "agent_pin", None)
                if pin is None or not self.confirm_by_agent(pin()):
                    self.flow.cancel()
            elif step is Step.LIVENESS:
                self.check_liveness()
            elif step is Step.FORM:
                if not self.fill_form(answers.form()):  # answers from a script do not change: stop here
                    self.flow.cancel()
            elif step is Step.SCORING:
                self.score()
            elif step is Step.OFFER:
                offer = self.flow.draft.offer
                assert offer is not None  # the flow is at OFFER only with an offer
                self.answer_offer(answers.accepts(offer))
            elif step is Step.CONFIRMATION:
                self.confirm()
            else:
                self.finish()
        return self.finish()
