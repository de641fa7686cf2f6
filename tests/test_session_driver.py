"""The session as screens drive it: from a thread that is not the core's, each camera step's
engine on its own worker, stoppable within a frame, with the flow's events and the engines'
frames, instructions and progress reported as they happen. Real engines throughout (the OCR on
the demo applicant's card held up frame by frame, the face models on its liveness frames)."""

from __future__ import annotations

import threading
import time
from datetime import date

import numpy as np
import pytest

from kiosk_config import load_config
from kiosk_demo.applicants import GENUINE, DemoApplicant, make_applicants
from kiosk_demo.run import HeldUpCard
from terminal_app.capture.card_capture import IdCardCapture
from terminal_app.capture.sources import FrameListSource
from terminal_app.core.core_thread import CoreThread, WrongThread
from terminal_app.core.engines import EngineRun, StepCancelled
from terminal_app.core.events import CameraFrame, DraftWiped, Instruction, Progress, StepChanged, TimedOut
from terminal_app.core.flow import EndReason, Step, WrongStep
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.session import GivenAnswers
from terminal_app.core.session_driver import SessionDriver
from terminal_app.liveness.challenges import PROMPTS, draw_challenges
from terminal_app.liveness.engine import CameraLivenessEngine

TODAY = date.today()  # the flow checks ages and card validity against the real date


@pytest.fixture(scope="module")
def applicant() -> DemoApplicant:
    config = load_config()
    applicants = make_applicants(10, seed=11, today=TODAY, county=config.terminal.county, catalogue=config.catalogue)
    return next(a for a in applicants if a.scenario == GENUINE)


@pytest.fixture
def threaded_kiosk(tmp_path, config_path):
    kiosk = Kiosk.start_on_core_thread(config_path, tmp_path / "data")
    yield kiosk
    kiosk.close()


class Seen:
    """A screen's listener: every event with the name of the thread it arrived on."""

    def __init__(self):
        self.events: list[tuple[object, str]] = []
        self.lock = threading.Lock()
        self.cancel_after: threading.Event | None = None  # set on the first frame the engine found something in

    def __call__(self, event: object) -> None:
        with self.lock:
            self.events.append((event, threading.current_thread().name))
        found = isinstance(event, CameraFrame) and (event.card_outline is not None or event.face_box is not None)
        if found and self.cancel_after is not None:
            self.cancel_after.set()

    def of(self, kind: type) -> list:
        with self.lock:
            return [event for event, _ in self.events if isinstance(event, kind)]

    def threads(self, kind: type) -> set[str]:
        with self.lock:
            return {thread for event, thread in self.events if isinstance(event, kind)}


def cancel_once_found(driver: SessionDriver, seen: Seen, start) -> tuple[int, float]:
    """Start a camera step, cancel it as soon as a frame shows the card or face, and wait for it:
    the frames reported after the stop, and the seconds it took to stop."""
    seen.cancel_after = threading.Event()
    job = start()
    assert seen.cancel_after.wait(60), "the engine reported no frame with a card or face in it"
    frames_before = len(seen.of(CameraFrame))
    stopped_at = time.perf_counter()
    job.cancel()
    assert job.wait(30) is None  # cancelled: nothing handed to the flow
    seen.cancel_after = None
    return len(seen.of(CameraFrame)) - frames_before, time.perf_counter() - stopped_at


@pytest.mark.slow
def test_a_whole_application_driven_from_another_thread_with_cancels_mid_capture_and_mid_liveness(
    threaded_kiosk, applicant
):
    kiosk = threaded_kiosk
    assert not kiosk.core.on_it()  # this test's thread is not the core's
    card = HeldUpCard(kiosk, applicant, TODAY)
    card.present(1)
    face_frames = applicant.liveness_frames(kiosk.config.liveness.challenges)
    liveness = CameraLivenessEngine(
        lambda: FrameListSource(face_frames), kiosk.config.liveness, seed=applicant.challenge_seed
    )
    seen = Seen()
    driver = SessionDriver.open(kiosk, card, liveness, listener=seen)
    answers = GivenAnswers(applicant.form)
    assert driver.give_consent(answers.consent())
    attempts = driver.state().attempts_left

    late_frames, stop_s = cancel_once_found(driver, seen, driver.start_capture)
    assert late_frames <= 1 and stop_s < 5  # within a frame, or the one OCR pass under way
    state = driver.state()
    assert state.step is Step.ID_CAPTURE and state.attempts_left == attempts  # no attempt used

    card.present(2)  # held up again
    assert driver.start_capture().wait(180) is True
    assert driver.state().step is Step.LIVENESS
    attempts = driver.state().attempts_left

    late_frames, stop_s = cancel_once_found(driver, seen, driver.start_liveness)
    assert late_frames <= 1 and stop_s < 2
    state = driver.state()
    assert state.step is Step.LIVENESS and state.attempts_left == attempts

    assert driver.start_liveness().wait(180) is True
    assert driver.fill_form(answers.form())
    driver.score()
    if driver.state().step is Step.OFFER:
        assert driver.answer_offer(True)
        driver.confirm()
    outcome = driver.finish()
    assert outcome.submitted and outcome.end_reason is EndReason.SUBMITTED
    assert kiosk.core.call(kiosk.outbox.queued_ids) == [outcome.envelope_id]
    assert kiosk.core.call(kiosk.vault.draft_ids) == []

    steps = [event.step for event in seen.of(StepChanged)]
    assert steps[:4] == ["id_capture", "liveness", "form", "scoring"] and steps[-2:] == ["receipt", "completed"]
    assert seen.threads(StepChanged) == {next(iter(seen.threads(StepChanged)))}  # one thread: the core's
    assert all(name.startswith("kiosk-core") for name in seen.threads(StepChanged))
    assert seen.threads(CameraFrame) == {"kiosk-id_capture", "kiosk-liveness"}
    capture_progress = [(p.done, p.label) for p in seen.of(Progress) if p.step == "id_capture"]
    assert (0, "front") in capture_progress and (1, "back") in capture_progress
    challenges = draw_challenges(applicant.challenge_seed, kiosk.config.liveness.challenges)
    said = {i.reason.code for i in seen.of(Instruction) if i.step == "liveness"}
    assert {PROMPTS[kind].code for kind in challenges} <= said  # each challenge was shown and spoken
    assert "turn_over" in {i.reason.code for i in seen.of(Instruction) if i.step == "id_capture"}
    outlines = [f.card_outline for f in seen.of(CameraFrame) if f.card_outline is not None]
    assert outlines and all(o.shape == (4, 2) for o in outlines)


def test_cancel_during_a_camera_step_stops_it_and_wipes_the_draft(threaded_kiosk, applicant):
    kiosk = threaded_kiosk
    card = HeldUpCard(kiosk, applicant, TODAY)
    card.present(1)
    seen = Seen()
    driver = SessionDriver.open(kiosk, card, CameraLivenessEngine(lambda: None, kiosk.config.liveness), listener=seen)
    driver.give_consent(GivenAnswers(applicant.form).consent())
    seen.cancel_after = threading.Event()
    job = driver.start_capture()
    assert seen.cancel_after.wait(60)
    driver.cancel()  # does not wait for the camera
    assert job.wait(30) is None
    state = driver.state()
    assert state.step is Step.ABANDONED and state.end_reason is EndReason.CANCELLED
    assert kiosk.core.call(kiosk.vault.draft_ids) == []
    assert [e.reason for e in seen.of(DraftWiped)] == ["cancelled"]


def test_a_camera_step_at_the_wrong_step_is_refused_at_once(threaded_kiosk, applicant):
    card = HeldUpCard(threaded_kiosk, applicant, TODAY)
    card.present(1)
    liveness = CameraLivenessEngine(lambda: None, threaded_kiosk.config.liveness)
    driver = SessionDriver.open(threaded_kiosk, card, liveness)
    with pytest.raises(WrongStep):
        driver.start_capture()  # consent first
    assert driver.job is None


def test_the_flow_and_the_vault_refuse_a_call_from_a_thread_not_the_cores(kiosk):
    flow = kiosk.new_application()
    errors: list[BaseException] = []

    def elsewhere():
        for call in (flow.state, flow.cancel, lambda: kiosk.vault.draft_ids()):
            try:
                call()
            except BaseException as error:
                errors.append(error)

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert [type(e).__name__ for e in errors] == ["WrongThread", "WrongThread", "ProgrammingError"]
    assert "core thread" in str(errors[0])
    assert flow.state().step is Step.CONSENT  # nothing happened to it


def test_a_dedicated_core_thread_runs_what_any_thread_hands_it_in_order():
    core = CoreThread.start()
    try:
        ran: list[tuple[int, str]] = []
        futures = [core.submit(lambda i=i: ran.append((i, threading.current_thread().name))) for i in range(20)]
        for future in futures:
            future.result(5)
        assert [i for i, _ in ran] == list(range(20)) and len({name for _, name in ran}) == 1
        assert core.call(lambda: core.on_it()) and not core.on_it()
        with pytest.raises(ZeroDivisionError):
            core.call(lambda: 1 / 0)  # the error reaches the caller
    finally:
        core.close()
    here = CoreThread.here()
    refused: list[BaseException] = []

    def call_in():
        try:
            here.call(print)
        except WrongThread as error:
            refused.append(error)

    worker = threading.Thread(target=call_in)
    worker.start()
    worker.join()
    assert len(refused) == 1  # a thread that is not dedicated runs nobody else's calls


def test_the_flow_announces_its_step_changes_idle_timeout_and_wipe(kiosk, clock):
    flow = kiosk.new_application(clock=clock)
    seen = Seen()
    flow.listeners.append(seen)
    flow.give_consent(GivenAnswers(None).consent())
    clock.advance(kiosk.config.terminal.idle_timeout_s + 1)
    assert flow.tick() is Step.ABANDONED
    kinds = [type(event).__name__ for event, _ in seen.events]
    assert kinds == ["StepChanged", "TimedOut", "StepChanged", "DraftWiped"]
    assert seen.of(TimedOut)[0].cause == "idle" and seen.of(TimedOut)[0].step == "id_capture"
    assert seen.of(StepChanged)[-1].step == "abandoned" and seen.of(DraftWiped)[0].reason == "idle"


def test_a_failing_listener_does_not_stop_the_flow(kiosk):
    flow = kiosk.new_application()

    def broken(event):
        raise RuntimeError("a screen's bug")

    flow.listeners.append(broken)
    flow.give_consent(GivenAnswers(None).consent())
    assert flow.step is Step.ID_CAPTURE


def blank_frames(count: int) -> list[np.ndarray]:
    return [np.full((480, 640, 3), 40, np.uint8) for _ in range(count)]


class CountingSource(FrameListSource):
    def __init__(self, images):
        super().__init__(images)
        self.reads = 0

    def read(self):
        self.reads += 1
        return super().read()


@pytest.mark.parametrize("engine", ["capture", "liveness"])
def test_an_engine_stops_before_the_next_frame_once_told(engine):
    source = CountingSource(blank_frames(200))
    run = EngineRun()
    frames = 0

    def listener(event):
        nonlocal frames
        if isinstance(event, CameraFrame):
            frames += 1
            if frames == 5:
                run.stop.set()

    run.listener = listener
    with pytest.raises(StepCancelled):
        if engine == "capture":
            IdCardCapture(source, TODAY).read_card(run)
        else:
            CameraLivenessEngine(lambda: source, load_config().liveness, seed=1).check(None, run)
    assert source.reads == 5  # the frame that saw the stop was the last one read


class ReadThenStopped:
    """A capture engine whose result comes just as "back" is pressed: it reads the card, and the
    stop arrives before the result reaches the flow."""

    def __init__(self, card):
        self.card = card

    def read_card(self, run=None):
        run.stop.set()
        return self.card


def test_a_stop_that_arrives_after_the_engine_finished_hands_nothing_over(threaded_kiosk):
    from tests.test_flow import CARD, CONSENT

    driver = SessionDriver.open(threaded_kiosk, ReadThenStopped(CARD), CameraLivenessEngine(lambda: None,
                                threaded_kiosk.config.liveness))  # fmt: skip
    driver.give_consent(CONSENT)
    attempts = driver.state().attempts_left
    assert driver.start_capture().wait(30) is None
    state = driver.state()
    assert state.step is Step.ID_CAPTURE and state.attempts_left == attempts  # not accepted, no attempt used
