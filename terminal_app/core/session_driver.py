"""The applicant session as screens drive it: callable from any thread (the UI's), with the
flow's part of every step run on the kiosk's core thread and each camera step's engine on a
worker thread of its own, so that neither the UI nor the vault ever waits on the camera.

    driver = SessionDriver.open(kiosk, capture, liveness, listener=on_event)
    driver.give_consent(consent)
    job = driver.start_capture()     # frames, instructions, progress arrive at on_event
    job.cancel()                     # "back": stopped within a frame, no attempt used
    driver.start_capture().wait()    # True: the card was accepted and the flow is at LIVENESS

Events (core.events) reach the listener on the thread that made them: the flow's on the core
thread, a camera step's on its worker. A UI hands them on to its own thread (Kivy's Clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from terminal_app.core.agents import AgentSession
from terminal_app.core.core_thread import CoreThread
from terminal_app.core.decision import Decision
from terminal_app.core.engines import EngineRun, IdCaptureEngine, LivenessEngine, StepCancelled
from terminal_app.core.events import CameraFrame, Listener, StepChanged
from terminal_app.core.flow import ENDED, FlowState, Step
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.session import ApplicantSession, EngineResult, SessionOutcome
from terminal_app.core.steps import ConsentRecord, FormAnswers, IdCardFields

PRESENCE_EVERY_S = 1.0  # a card or face in the camera counts as activity (the idle timer), at most this often


class StepJob:
    """A camera step under way: its engine on a worker thread, then the flow's part on the core."""

    def __init__(self, step: Step, run: EngineRun):
        self.step = step
        self.run = run
        self.future: Future[bool | None] = Future()
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        """Stop the engine (within a frame, or the OCR pass under way); nothing reaches the flow."""
        self.run.stop.set()

    @property
    def done(self) -> bool:
        return self.future.done()

    def wait(self, timeout: float | None = None) -> bool | None:
        """True: the flow accepted the step's result and moved on; False: it refused it (the
        reason is in the flow's state); None: the step was cancelled. Re-raises an engine's bug."""
        return self.future.result(timeout)


class SessionDriver:
    """One applicant's session for the screens. Needs a kiosk on a dedicated core thread
    (`Kiosk.start_on_core_thread`)."""

    def __init__(self, session: ApplicantSession, core: CoreThread):
        if not core.dedicated:
            raise ValueError("SessionDriver needs a kiosk started with Kiosk.start_on_core_thread")
        self.session = session
        self.core = core
        self.job: StepJob | None = None
        self._last_presence = 0.0
        core.call(session.subscribe, self._on_flow_event)

    @classmethod
    def open(
        cls,
        kiosk: Kiosk,
        capture: IdCaptureEngine,
        liveness: LivenessEngine,
        *,
        agent: AgentSession | None = None,
        listener: Listener | None = None,
    ) -> SessionDriver:
        session = kiosk.core.call(kiosk.new_session, capture, liveness, agent=agent)
        if listener is not None:
            kiosk.core.call(session.subscribe, listener)
        return cls(session, kiosk.core)

    # --- what a screen reads --------------------------------------------------------------

    def state(self) -> FlowState:
        """The flow's state, timeouts applied (call it from the UI's clock)."""
        return self.core.call(self.session.flow.state)

    @property
    def agent(self) -> AgentSession | None:
        """The agent assisting this session, if one is."""
        return self.session.agent

    def card(self) -> IdCardFields | None:
        """The card the flow accepted, for the applicant to check (None before, or after a retake)."""
        return self.core.call(lambda: self.session.outcome.card)

    def touch(self) -> None:
        """The applicant touched the screen: the idle timer starts again."""
        self.core.call(self.session.flow.touch)

    # --- the steps --------------------------------------------------------------------------

    def give_consent(self, consent: ConsentRecord) -> bool:
        return self.core.call(self.session.give_consent, consent)

    def start_capture(self) -> StepJob:
        """Read the card on a worker thread, then hand it to the flow."""
        return self._start(Step.ID_CAPTURE, self.session.read_card, self.session.take_card)

    def start_liveness(self) -> StepJob:
        """Run the liveness check on a worker thread, then hand it to the flow."""
        return self._start(Step.LIVENESS, self.session.check_face, self.session.take_liveness)

    def retake_card(self) -> bool:
        """The card check found a field read wrong: back to the camera (False: not allowed now)."""
        return self.core.call(self.session.retake_card)

    def pick_card_field(self, name: str, value: str) -> bool:
        """The assisting agent picks an unread card field from its list (False: refused)."""
        return self.core.call(self.session.pick_card_field, name, value)

    def confirm_by_agent(self, pin: str) -> bool:
        """The no-face path: the assisting agent signs for the person (False: the reason is in
        the state)."""
        return self.core.call(self.session.confirm_by_agent, pin)

    def fill_form(self, answers: FormAnswers) -> bool:
        return self.core.call(self.session.fill_form, answers)

    def score(self) -> Decision:
        return self.core.call(self.session.score)

    def answer_offer(self, accept: bool) -> bool:
        return self.core.call(self.session.answer_offer, accept)

    def confirm(self) -> str:
        return self.core.call(self.session.confirm)

    def finish(self) -> SessionOutcome:
        return self.core.call(self.session.finish)

    def cancel(self) -> None:
        """Cancel pressed: the camera step under way is told to stop (its result, if it comes, is
        not handed over) and the draft is wiped. Never waits for the camera."""
        if self.job is not None:
            self.job.cancel()
        self.core.call(self.session.flow.cancel)

    # --- inside -------------------------------------------------------------------------------

    def _start(
        self,
        step: Step,
        engine: Callable[[EngineRun], EngineResult],
        hand_over: Callable[[EngineResult], bool],
    ) -> StepJob:
        if self.job is not None and not self.job.done:
            raise RuntimeError(f"a camera step ({self.job.step}) is still running: cancel it first")
        self.core.call(self.session.flow.begin, step)  # WrongStep / FlowEnded at once, not after the camera
        job = StepJob(step, EngineRun(listener=self._on_engine_event))

        def work() -> None:
            try:
                result = engine(job.run)
            except StepCancelled:
                job.future.set_result(None)
                return
            except BaseException as error:
                job.future.set_exception(error)
                return
            try:
                job.future.set_result(self.core.call(self._hand_over_unless_stopped, job, hand_over, result))
            except BaseException as error:
                job.future.set_exception(error)

        job.thread = threading.Thread(target=work, name=f"kiosk-{step}", daemon=True)
        self.job = job
        job.thread.start()
        return job

    @staticmethod
    def _hand_over_unless_stopped(
        job: StepJob, hand_over: Callable[[EngineResult], bool], result: EngineResult
    ) -> bool | None:
        """On the core thread: a step stopped after its engine finished hands nothing over either
        (the stop and the hand-over are ordered there), so "back" never uses an attempt."""
        if job.run.stop.is_set():
            return None
        return hand_over(result)

    def _on_engine_event(self, event: object) -> None:
        """A camera step's event (worker thread): to the listeners; a card or face in view keeps
        the session from going idle."""
        if isinstance(event, CameraFrame) and (event.card_outline is not None or event.face_box is not None):
            now = time.monotonic()
            if now - self._last_presence >= PRESENCE_EVERY_S:
                self._last_presence = now
                self.core.submit(self.session.flow.touch)
        self.session.flow.announce(event)

    def _on_flow_event(self, event: object) -> None:
        """The flow ended (idle, a step's time, cancel): the camera step under way stops too."""
        if isinstance(event, StepChanged) and Step(event.step) in ENDED and self.job is not None:
            self.job.cancel()
