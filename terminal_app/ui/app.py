"""The kiosk app: one window, a step bar with the large-text, sound and cancel buttons, the
applicant's screens, and the idle countdown over them. It shows the flow's state and forwards
touches to the session driver (core/session_driver.py); every rule, check and score is the core's.

Threads: Kivy's (this module) never waits on the camera or the scorer. The core's events arrive
on the core thread or a camera step's worker and are handed to Kivy's clock; of the camera's
frames only the latest is drawn."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.audio import SoundLoader
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from terminal_app.capture.cameras import StepCameras
from terminal_app.core import message_catalogue as mc
from terminal_app.core.agents import AgentSession, LoginError, agent_actor
from terminal_app.core.events import CameraFrame, Instruction, Progress
from terminal_app.core.flow import FlowEnded, FlowState, Step, WrongStep
from terminal_app.core.health import GuardrailStop
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.queue_view import sync_problem
from terminal_app.core.session_driver import SessionDriver, StepJob
from terminal_app.ui.screens.agent import AgentCheckScreen, AgentConsoleScreen, AgentLoginScreen
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.screens.card import CardCheckScreen, CardScreen
from terminal_app.ui.screens.consent import ConsentScreen
from terminal_app.ui.screens.face import FaceScreen
from terminal_app.ui.screens.form import FormScreen
from terminal_app.ui.screens.outcome import ConfirmScreen, EndedScreen, OfferScreen, ReceiptScreen, ScoringScreen
from terminal_app.ui.screens.welcome import WelcomeScreen
from terminal_app.ui.speech import PromptVoice, prompt_texts
from terminal_app.ui.widgets import BLUE, GREY, PAPER, RED, BigButton, Panel, StepBar, Words

log = logging.getLogger(__name__)

LARGE_TEXT = 1.35
TICK_S = 0.25
STEP_NAMES = ("step_consent", "step_card", "step_face", "step_form", "step_result", "step_done")
# the step bar's position of each screen
STEP_OF_SCREEN = {"consent": 0, "card": 1, "check": 1, "face": 2, "agentcheck": 2, "form": 3, "scoring": 4,
                  "offer": 4, "confirm": 4, "receipt": 5}  # fmt: skip
NO_CANCEL = ("welcome", "ended", "receipt", "agent_login", "agent")
AGENT_SCREENS = ("agent_login", "agent")
SYNC_POLL_S = 0.5
DAY_S = 86_400


class KioskApp(App):
    text_scale = NumericProperty(1.0)

    def __init__(
        self,
        kiosk: Kiosk,
        cameras: StepCameras,
        *,
        voice_cache: Path,
        today: date | None = None,
        exit_keys: bool = False,
    ):
        super().__init__()
        self.kiosk, self.cameras, self.today = kiosk, cameras, today
        display = kiosk.config.display
        self.display = display
        self.exit_keys = exit_keys or display.exit_keys  # a development window closes as windows do
        self.language = display.language
        self.text_scale = LARGE_TEXT if display.large_text else 1.0
        self.title = mc.words(self.language, "screen", "welcome_title")
        self.voice = PromptVoice(voice_cache, voice=display.voice, enabled=display.speech, play=self._play)
        self.driver: SessionDriver | None = None
        self.job: StepJob | None = None
        self.card_confirmed = False
        self.screens_shown: list[str] = []  # every screen shown, in order (tests, the demo's screenshots)
        self._sound = None
        self._frame: CameraFrame | None = None
        self._frame_lock = threading.Lock()
        self._frame_trigger = None
        self._session: object | None = None
        self.agent: AgentSession | None = None  # the field agent logged in on this kiosk, if one is
        self._agent_touched = time.monotonic()
        self.stopped_by: str = ""  # why the terminal takes no new application (a guardrail), in words

    # --- words and voice ------------------------------------------------------------------------

    def words(self, table: str, key: str, **params: object) -> str:
        return mc.words(self.language, table, key, **params)

    def say(self, text: str) -> None:
        self.voice.say(text)

    def say_key(self, key: str) -> None:
        self.say(self.words("screen", key))

    def _play(self, path: Path) -> None:
        if self._sound is not None:
            self._sound.stop()
        self._sound = SoundLoader.load(str(path))
        if self._sound is not None:
            self._sound.play()

    # --- the window -----------------------------------------------------------------------------

    def build(self):
        Window.clearcolor = PAPER
        Window.bind(on_request_close=lambda *_: not self.exit_keys)  # True keeps the window open
        Window.bind(on_touch_down=self._window_touch)
        root = FloatLayout()
        with root.canvas.before:  # the paper behind every screen (in screenshots too)
            Color(*PAPER)
            paper = Rectangle()
        root.bind(pos=lambda *_: setattr(paper, "pos", root.pos), size=lambda *_: setattr(paper, "size", root.size))
        column = BoxLayout(orientation="vertical")
        column.add_widget(self._top_bar())
        self.manager = ScreenManager(transition=NoTransition())
        for screen in (WelcomeScreen(self), ConsentScreen(self), CardScreen(self), CardCheckScreen(self),
                       FaceScreen(self), AgentCheckScreen(self), FormScreen(self), ScoringScreen(self),
                       OfferScreen(self), ConfirmScreen(self), ReceiptScreen(self), EndedScreen(self),
                       AgentLoginScreen(self), AgentConsoleScreen(self)):  # fmt: skip
            self.manager.add_widget(screen)
        column.add_widget(self.manager)
        root.add_widget(column)
        self.countdown = self._countdown_panel()
        self.root_layout = root
        self._frame_trigger = Clock.create_trigger(lambda dt: self._draw_frame())
        Clock.schedule_interval(lambda dt: self._tick(), TICK_S)
        Clock.schedule_interval(lambda dt: self._daily(), DAY_S)
        self.voice.prepare(prompt_texts(self.language))
        self._go("welcome", None)
        return root

    def _top_bar(self) -> BoxLayout:
        bar = BoxLayout(size_hint_y=None, height=72, padding=[12, 6], spacing=10)
        self.step_bar = StepBar([self.words("screen", key) for key in STEP_NAMES], size_hint_x=0.48)
        self.badge = Words("", size=18, color=BLUE, bold=True, size_hint_x=0.12)  # an agent is assisting
        self.text_button = BigButton(self.words("screen", "large_text"), "large-text", on_press=self.toggle_large_text,
                                     size=20, color=GREY, size_hint_x=0.13)  # fmt: skip
        self.mute_button = BigButton(self.words("screen", "mute"), "mute", on_press=self.toggle_mute, size=20,
                                     color=GREY, size_hint_x=0.13)  # fmt: skip
        self.cancel_button = BigButton(self.words("screen", "cancel"), "cancel", on_press=self.cancel, size=22,
                                       color=RED, size_hint_x=0.14)  # fmt: skip
        for widget in (self.step_bar, self.badge, self.text_button, self.mute_button, self.cancel_button):
            bar.add_widget(widget)
        return bar

    def _countdown_panel(self) -> Panel:
        panel = Panel(size_hint=(0.6, 0.5), pos_hint={"center_x": 0.5, "center_y": 0.5}, padding=30)
        with panel.canvas.before:
            Color(1, 1, 1, 1)  # opaque: the screen under it must not show through
            backdrop = Rectangle()
        panel.bind(pos=lambda *_: setattr(backdrop, "pos", panel.pos),
                   size=lambda *_: setattr(backdrop, "size", panel.size))  # fmt: skip
        panel.add_widget(Words(self.words("screen", "idle_title"), size=40, bold=True))
        self.countdown_words = Words("", size=30, color=RED)
        panel.add_widget(self.countdown_words)
        panel.add_widget(BigButton(self.words("screen", "idle_continue"), "idle-continue", on_press=self._activity,
                                   size=34))  # fmt: skip
        return panel

    def toggle_large_text(self) -> None:
        large = self.text_scale == 1.0
        self.text_scale = LARGE_TEXT if large else 1.0
        self.text_button.text = self.words("screen", "normal_text" if large else "large_text")

    def toggle_mute(self) -> None:
        self.voice.muted = not self.voice.muted
        self.mute_button.text = self.words("screen", "unmute" if self.voice.muted else "mute")
        if self.voice.muted and self._sound is not None:
            self._sound.stop()

    @property
    def screen(self) -> KioskScreen:
        return self.manager.current_screen  # type: ignore[return-value]

    def _go(self, name: str, state: FlowState | None) -> None:
        if self.manager.current == name and self.screens_shown:
            return
        self.manager.current = name
        self.screens_shown.append(name)
        self.step_bar.current = STEP_OF_SCREEN.get(name, -1)
        self.cancel_button.disabled = name in NO_CANCEL
        self.cancel_button.opacity = 0 if name in NO_CANCEL else 1
        self.step_bar.opacity = 0 if name in AGENT_SCREENS else 1  # the applicant's steps only
        screen = self.screen
        screen.enter(state)
        if screen.spoken_key:
            self.say_key(screen.spoken_key)

    # --- the session ----------------------------------------------------------------------------

    def start_session(self, agent: AgentSession | None = None) -> bool:
        """A new applicant's session (assisted when `agent` is given). False when a guardrail stops
        the terminal: the reason is shown where the session was asked for."""
        if self.driver is not None:
            return False
        if self.guardrail_stop():  # before the camera is told a new person stands there
            if self.manager.current == "welcome":
                self.screen.enter(None)  # it shows why
            return False
        self.cameras.new_applicant()
        capture, liveness = self.kiosk.camera_engines(self.cameras, today=self.today)
        self.card_confirmed = False
        session = object()  # this session's events only: a cancelled job's late ones are dropped
        try:
            driver = SessionDriver.open(self.kiosk, capture, liveness, agent=agent,
                                        listener=lambda e: self._from_core(e, session))  # fmt: skip
        except GuardrailStop as stopped:
            self.stopped_by = stopped.reason.text(self.language)
            if self.manager.current == "welcome":
                self.screen.enter(None)  # it shows why
            return False
        self._session, self.driver = session, driver
        self.badge.text = self.words("screen", "assisted_badge", agent=agent.agent_id) if agent else ""
        self.follow()
        return True

    def close_session(self) -> None:
        """Back to welcome, or to the agent's console after an assisted session; a session not
        ended yet is cancelled (its draft wiped)."""
        driver, self.driver = self.driver, None
        self._session = None
        with self._frame_lock:
            self._frame = None
        if driver is not None:
            driver.cancel()
        self.job = None
        self.badge.text = ""
        self._hide_countdown()
        self._agent_touched = time.monotonic()
        self._go("agent" if self.agent_present() else "welcome", None)

    def guardrail_stop(self) -> str:
        """Why the terminal takes no new application now, in words ("" when it does)."""
        camera = self.cameras.camera_state()
        stops = self.kiosk.core.call(lambda: self.kiosk.health(camera).stops)
        self.stopped_by = stops[0].reason.text(self.language) if stops else ""
        return self.stopped_by

    # --- the field agent ----------------------------------------------------------------------

    def agent_present(self) -> bool:
        agent = self.agent
        return agent is not None and time.time() < agent.expires_at

    def show_agent_login(self) -> None:
        if self.driver is None:
            self._go("agent_login", None)

    def agent_login(self, number: str, pin: str) -> None:
        """Check the agent number and PIN off this thread (scrypt takes a tenth of a second)."""

        def check() -> None:
            try:
                agent = self.kiosk.core.call(self.kiosk.agent_login, number, pin)
            except LoginError as refused:
                text = refused.reason.text(self.language)
                Clock.schedule_once(lambda dt: self._login_refused(text))
                return
            Clock.schedule_once(lambda dt: self._logged_in(agent))

        threading.Thread(target=check, name="kiosk-agent-login", daemon=True).start()

    def _login_refused(self, text: str) -> None:
        if self.manager.current == "agent_login":
            self.screen.refused(text)  # type: ignore[attr-defined]

    def _logged_in(self, agent: AgentSession) -> None:
        self.agent = agent
        self._agent_touched = time.monotonic()
        if self.driver is None:
            self._go("agent", None)

    def agent_logout(self) -> None:
        agent, self.agent = self.agent, None
        if agent is not None:
            self.kiosk.core.call(self.kiosk.agent_did, agent, "logout")
        if self.driver is None:
            self._go("welcome", None)

    def start_assisted(self) -> None:
        agent = self.agent
        if agent is None or not self.agent_present():
            self.agent_logout()
            return
        self.kiosk.core.call(self.kiosk.agent_did, agent, "assisted_application")
        if not self.start_session(agent):
            self.console.say(self.stopped_by, RED)

    @property
    def console(self) -> AgentConsoleScreen:
        return self.manager.get_screen("agent")  # type: ignore[return-value]

    def agent_refresh(self) -> None:
        """The console's figures, read on the core thread."""
        kiosk, camera = self.kiosk, self.cameras.camera_state()
        view = kiosk.core.call(lambda: (kiosk.health(camera), kiosk.outbox.status(), kiosk.updates.status(),
                                        kiosk.model.model_version, kiosk.todays_applications()))  # fmt: skip
        self.console.show(*view)

    def _agent_task(self, name: str, work, done) -> None:
        """An agent's slow action (network, USB) on a thread of its own; `done(result or error)`
        on this one. The console's buttons wait meanwhile."""
        self.console.busy(True)

        def run() -> None:
            try:
                result = work()
            except Exception as error:  # shown to the agent in words; nothing is lost (the core's promise)
                log.warning("the agent's %s failed: %s", name, error)
                result = error
            Clock.schedule_once(lambda dt: finish(result))

        def finish(result) -> None:
            self.console.busy(False)
            done(result)
            if self.manager.current == "agent":
                self.agent_refresh()

        threading.Thread(target=run, name=f"kiosk-agent-{name}", daemon=True).start()

    def agent_sync(self) -> None:
        agent = self.agent
        if agent is None:
            return
        self.kiosk.core.call(self.kiosk.agent_did, agent, "sync_now")
        self.console.say(self.words("screen", "syncing", queued=self._queued()))
        poll = Clock.schedule_interval(
            lambda dt: self.console.say(self.words("screen", "syncing", queued=self._queued())), SYNC_POLL_S
        )

        def done(report) -> None:
            poll.cancel()
            if isinstance(report, Exception):
                self.console.say(str(report), RED)
            elif report.ok:
                self.console.say(self.words("screen", "synced", stored=report.stored, remaining=report.remaining))
            else:
                problem = sync_problem(report.error.code)
                self.console.say(problem.text(self.language) if problem else "", RED)

        self._agent_task("sync", self.kiosk.sync_beside, done)

    def _queued(self) -> int:
        return self.kiosk.core.call(lambda: self.kiosk.outbox.status()["queued"])

    def usb_sticks(self) -> list[Path]:
        return self.kiosk.core.call(self.kiosk.usb_sticks)

    def agent_export(self, stick: Path) -> None:
        agent = self.agent
        if agent is None:
            return

        def done(result) -> None:
            if isinstance(result, OSError):
                problem = result.strerror or type(result).__name__
                self.console.say(self.words("screen", "usb_failed", problem=problem), RED)
            elif isinstance(result, Exception):
                self.console.say(self.words("screen", "usb_failed", problem=type(result).__name__), RED)
            else:
                self.console.say(self.words("screen", "usb_exported", count=result.envelopes, sha=result.sha256[:16]))

        self._agent_task("export", lambda: self.kiosk.core.call(self.kiosk.export_to_stick, stick, agent), done)

    def agent_import_receipts(self) -> None:
        agent = self.agent
        if agent is None:
            return
        files = self.kiosk.core.call(self.kiosk.receipts_on_sticks)
        if not files:
            self.console.say(self.words("screen", "usb_no_receipts"), RED)
            return
        actor = agent_actor(agent)

        def done(result) -> None:
            if isinstance(result, Exception):
                problem = getattr(result, "code", None) or getattr(result, "strerror", None) or type(result).__name__
                self.console.say(self.words("screen", "receipts_refused", problem=problem), RED)
            else:
                self.console.say(self.words("screen", "receipts_done", acknowledged=result["acknowledged"],
                                            rejected=len(result["rejected"]), not_queued=result["not_queued"],
                                            still_queued=result["still_queued"]))  # fmt: skip

        self._agent_task("receipts", lambda: self.kiosk.core.call(self.kiosk.import_receipts, files[0], actor=actor),
                         done)  # fmt: skip

    def agent_release(self, reason: str) -> None:
        agent = self.agent
        if agent is None:
            return
        count = self.kiosk.core.call(self.kiosk.release_held, agent, reason)
        self.console.say(self.words("screen", "released" if count else "nothing_held", count=count))
        self.agent_refresh()

    def cancel(self) -> None:
        if self.driver is not None:
            self.driver.cancel()
            self.follow()

    def driver_call(self, name: str, *args, then: Callable[[object], None] | None = None) -> None:
        """A screen's touch, forwarded to the session driver off this thread (a step's change is
        written to the vault before it returns): the screens then follow the flow's state, and a
        refusal, or a touch the flow had moved on from (a timeout), refreshes the screen shown;
        `then(result)` runs after, on this thread, if the session is still the same."""
        driver = self.driver
        if driver is None:
            return

        def done(result: object) -> None:
            if driver is not self.driver:
                return  # that session is over
            state = self.follow()
            if state is not None and result in (False, None) and self.manager.current != "ended":
                self.screen.refresh(state)
            if then is not None:
                then(result)

        def call() -> None:
            try:
                result = getattr(driver, name)(*args)
            except (FlowEnded, WrongStep):
                result = None
            except Exception:  # a full disk on confirm: the flow kept the draft, the screen offers it again
                log.exception("the session driver's %s failed", name)
                result = None
            Clock.schedule_once(lambda dt: done(result))

        threading.Thread(target=call, name=f"kiosk-{name}", daemon=True).start()

    def follow(self, state: FlowState | None = None) -> FlowState | None:
        """Show the screen for the flow's step (called on every change the core announces)."""
        if self.driver is None:
            return None
        state = state or self.driver.state()
        step = state.step
        if step is Step.COMPLETED:
            self.close_session()
            return state
        if step is Step.ID_CAPTURE:
            self.card_confirmed = False
        identity = "agentcheck" if state.face_declined else "face"
        name = {
            Step.CONSENT: "consent",
            Step.ID_CAPTURE: "card",
            Step.LIVENESS: identity if self.card_confirmed else "check",
            Step.FORM: "form",
            Step.SCORING: "scoring",
            Step.OFFER: "offer",
            Step.CONFIRMATION: "confirm",
            Step.RECEIPT: "receipt",
            Step.ABANDONED: "ended",
        }[step]
        if name == "ended":
            self._hide_countdown()
        self._go(name, state)
        return state

    def start_camera_step(self) -> None:
        """The card or face step's engine, on the driver's worker; its end comes back here."""
        if self.driver is None or (self.job is not None and not self.job.done):
            return
        state = self.driver.state()
        try:
            if state.step is Step.ID_CAPTURE:
                job = self.driver.start_capture()
            elif state.step is Step.LIVENESS:
                job = self.driver.start_liveness()
            else:
                return
        except (FlowEnded, WrongStep):
            self.follow()
            return
        self.job = job
        job.future.add_done_callback(lambda _: Clock.schedule_once(lambda dt: self._camera_step_done(job)))

    def _camera_step_done(self, job: StepJob) -> None:
        if job is not self.job or self.driver is None:
            return
        try:
            accepted = job.wait(0)
        except Exception:
            log.exception("a camera step failed")
            accepted = False
        if accepted is None:  # cancelled: the flow has moved on already
            return
        state = self.follow()
        if not accepted and state is not None and state.step in (Step.ID_CAPTURE, Step.LIVENESS):
            self.screen.refresh(state)

    def score_in_background(self) -> None:
        """The scorer runs off the UI thread; the flow's step change brings the next screen."""
        driver = self.driver
        if driver is None:
            return

        def score() -> None:
            try:
                driver.score()
            except (FlowEnded, WrongStep):  # the session ended meanwhile
                pass
            except Exception:  # the flow stays at scoring: cancel stays possible, the step's time ends it
                log.exception("scoring failed")
            Clock.schedule_once(lambda dt: self.follow())

        threading.Thread(target=score, name="kiosk-score", daemon=True).start()

    # --- what the core says ------------------------------------------------------------------------

    def _from_core(self, event: object, session: object) -> None:
        """Any thread: hand the event to Kivy's clock (frames: only the latest is drawn)."""
        if session is not self._session:
            return
        if isinstance(event, CameraFrame):
            with self._frame_lock:  # the newest frame is drawn; an older one's outline still counts
                pending = self._frame
                if pending is not None and event.index < pending.index and pending.step == event.step:
                    if event.card_outline is not None:
                        self._frame = dataclasses.replace(pending, card_outline=event.card_outline)
                else:
                    self._frame = event
            if self._frame_trigger is not None:
                self._frame_trigger()
            return
        Clock.schedule_once(lambda dt: self._on_event(event) if session is self._session else None)

    def _draw_frame(self) -> None:
        with self._frame_lock:
            frame, self._frame = self._frame, None
        if frame is not None:
            self.screen.on_event(frame)

    def _on_event(self, event: object) -> None:
        if isinstance(event, (Instruction, Progress)):
            self.screen.on_event(event)
            if isinstance(event, Instruction):
                self.say(event.reason.text(self.language))
            self.cameras.hear(event)  # what is shown and said reaches whoever is in front of the camera
        else:
            self.follow()

    # --- time -------------------------------------------------------------------------------------

    def _window_touch(self, window, touch) -> bool:
        """Any touch is activity; the one that dismisses the idle countdown goes no further (it
        must not also press whatever lies under the countdown)."""
        shown = self.countdown.parent is not None
        self._agent_touched = time.monotonic()
        self._activity()
        return shown

    def _activity(self, *_) -> None:
        if self.driver is not None:
            with contextlib.suppress(FlowEnded, WrongStep):
                self.driver.touch()
        self._hide_countdown()

    def _tick(self) -> None:
        if self.driver is None:
            self._agent_tick()
            return
        state = self.driver.state()
        idle = state.idle_seconds_left  # the step's own time limit is not the applicant's idleness
        if idle is not None and idle <= self.display.countdown_s:
            self._show_countdown(int(idle + 0.999))
        else:
            self._hide_countdown()
        shown = self.manager.current
        if state.step in (Step.ABANDONED, Step.COMPLETED) and shown != "ended":
            self.follow(state)

    def _daily(self) -> None:
        """What the kiosk stops keeping, once a day (it also runs at start)."""
        threading.Thread(target=lambda: self.kiosk.core.call(self.kiosk.retention), name="kiosk-retention",
                         daemon=True).start()  # fmt: skip

    def _agent_tick(self) -> None:
        """An agent's login ends when it expires or the console has been left idle."""
        idle = time.monotonic() - self._agent_touched >= self.kiosk.config.terminal.idle_timeout_s
        if self.agent is not None and (idle or not self.agent_present()):
            self.agent_logout()
        elif self.agent is None and idle and self.manager.current == "agent_login":
            self._go("welcome", None)

    def _show_countdown(self, seconds: int) -> None:
        self.countdown_words.text = self.words("screen", "idle_body", seconds=seconds)
        if self.countdown.parent is None:
            self.root_layout.add_widget(self.countdown)
            self.say(self.words("screen", "idle_title"))

    def _hide_countdown(self) -> None:
        if self.countdown.parent is not None:
            self.root_layout.remove_widget(self.countdown)

    def on_start(self) -> None:
        """SIGTERM (systemd stopping the service) ends the app as a stop does: the session under
        way is cancelled and its draft wiped, the camera closed."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda dt: self.stop()))

    def on_stop(self) -> None:
        if self.driver is not None:
            self.driver.cancel()
        job = self.job
        if job is not None and job.thread is not None:
            job.thread.join(timeout=3.0)  # stopped within a frame or an OCR pass: then the camera closes
        self.cameras.close()
