"""Walking people through the kiosk's real screens by touch: a finger pressed on the widget a
person would press (found by its `tag`, at its place on the window, through Kivy's own input
path), never a call into the core behind the screens' back. The walk runs on its own thread while
the app runs its event loop; each look at the screen is done on Kivy's thread.

    walker = ScreenWalker(app)
    walker.touch("start"); walker.wait_screen("consent")
    walker.screenshot(folder / "02-consent.png")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.input.motionevent import MotionEvent
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk_demo.applicants import DemoApplicant


class WalkFailed(AssertionError):
    """The screens did not do what a person would have needed them to do."""


class _Reached(Exception):
    def __init__(self, name: str):
        self.name = name


class Finger(MotionEvent):
    """One touch at window pixel (x, y), fed to Kivy as its input providers feed a real one."""

    def __init__(self, x: float, y: float):
        window = EventLoop.window
        super().__init__("walker", id(self), {"x": x / (window.width - 1.0), "y": y / (window.height - 1.0)},
                         is_touch=True, type_id="touch")  # fmt: skip
        self.profile = ["pos"]

    def depack(self, args):
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


def shown(widget: Widget) -> bool:
    """On screen: in the window's tree, not hidden (opacity 0) and not zero-sized."""
    node: Any = widget
    while node is not None:
        if getattr(node, "opacity", 1) == 0:
            return False
        if node is EventLoop.window:
            return widget.width > 0 and widget.height > 0
        node = node.parent
    return False


class ScreenWalker:
    def __init__(self, app, *, step_timeout_s: float = 120.0):
        self.app = app
        self.timeout = step_timeout_s
        self.seen: dict[str, list[str]] = {}  # each screen shot: the texts on it then

    # --- on Kivy's thread ---------------------------------------------------------------------------

    def on_ui(self, work: Callable[[], Any], timeout: float = 30.0) -> Any:
        done = threading.Event()
        box: dict[str, Any] = {}

        def run(dt: float) -> None:
            try:
                box["value"] = work()
            except BaseException as error:
                box["error"] = error
            done.set()

        Clock.schedule_once(run)
        if not done.wait(timeout):
            raise WalkFailed(f"the UI thread did not answer within {timeout:.0f} s (a stall)")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def _widgets(self) -> list[Widget]:
        window = EventLoop.window
        if window is None:
            return []
        return [w for top in reversed(window.children) for w in top.walk(restrict=False) if shown(w)]

    def find(self, tag: str) -> Widget | None:
        for widget in self._widgets():
            if getattr(widget, "tag", None) == tag:
                return widget
        return None

    # --- what a person does -------------------------------------------------------------------------

    def touch(self, tag: str, *, timeout: float = 10.0) -> None:
        """Press and release the widget tagged `tag`, once it is shown and enabled."""
        deadline = time.monotonic() + timeout
        while True:
            pressed = self.on_ui(lambda: self._press(tag))
            if pressed:
                break
            if time.monotonic() > deadline:
                raise WalkFailed(f"no enabled '{tag}' on the {self.current()} screen; it shows: {self.texts()[:12]}")
            time.sleep(0.1)
        time.sleep(0.05)  # the release is handled before the next look

    def _press(self, tag: str) -> bool:
        widget = self.find(tag)
        if widget is None or widget.disabled:
            return False
        x, y = widget.to_window(*widget.center)
        finger = Finger(x, y)
        EventLoop.post_dispatch_input("begin", finger)
        EventLoop.post_dispatch_input("end", finger)
        return True

    def touch_at(self, x: float, y: float) -> None:
        """A touch anywhere on the window (window pixels), as a restless hand makes."""

        def press() -> None:
            finger = Finger(x, y)
            EventLoop.post_dispatch_input("begin", finger)
            EventLoop.post_dispatch_input("end", finger)

        self.on_ui(press)

    # --- what a person sees -------------------------------------------------------------------------

    def current(self) -> str:
        return self.on_ui(lambda: self.app.manager.current)

    def texts(self) -> list[str]:
        return self.on_ui(self._texts_now)

    def enabled(self, tag: str) -> bool:
        return self.on_ui(lambda: (w := self.find(tag)) is not None and not w.disabled)

    def wait(self, what: str, predicate: Callable[[], bool], timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.on_ui(predicate):
            if time.monotonic() > deadline:
                raise WalkFailed(f"waited for {what}; the {self.current()} screen shows: {self.texts()[:12]}")
            time.sleep(0.1)

    def wait_screen(self, *names: str, timeout: float | None = None) -> str:
        self.wait(" or ".join(names), lambda: self.app.manager.current in names, timeout)
        return self.current()

    def wait_text(self, text: str, timeout: float | None = None) -> None:
        self.wait(f"'{text}' on screen", lambda: any(text in t for t in self._texts_now()), timeout)

    def _texts_now(self) -> list[str]:
        return [w.text for w in self._widgets() if isinstance(w, Label) and w.text]

    def screenshot(self, path: Path) -> Path:
        """The whole window as a person sees it, as PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)

        def grab() -> None:
            EventLoop.window.canvas.ask_update()
            self.app.root_layout.export_to_png(str(path))

        time.sleep(0.2)  # a frame or two drawn since the last change
        self.on_ui(grab)
        return path

    # --- one applicant ------------------------------------------------------------------------------

    def walk(self, applicant: DemoApplicant, shots: Path | None = None, prefix: str = "", *,
             stop_at: str | None = None, agent_pin: str | None = None, assisted: bool = False,
             picks: dict[str, str] | None = None) -> str:  # fmt: skip
        """One applicant from welcome to the end, touching what they would; a screenshot of each
        screen into `shots`. Returns the screen the walk ended on ("receipt" or "ended"), or
        `stop_at` once that screen is shown (a name as the screenshots have them: "card",
        "form-phone", "confirm" ...), touching nothing more. With `agent_pin`, a logged-in agent
        starts it from the console, the applicant declines face checks, and the agent confirms
        the person with that PIN (the no-face path); `assisted`, an agent starts it from the
        console and the person goes through the face check; `picks`, the card fields the agent
        picks from their lists at the card check (the capture could not read them)."""
        try:
            return self._walk(applicant, self._shooter(shots, prefix, stop_at), agent_pin, assisted, picks or {})
        except _Reached as reached:
            return reached.name

    def _walk(self, applicant: DemoApplicant, shot: Callable[[str], None], agent_pin: str | None = None,
              assisted: bool = False, picks: dict[str, str] | None = None) -> str:  # fmt: skip
        assisted = assisted or agent_pin is not None
        first = "agent" if assisted else "welcome"
        self.wait_screen(first)
        shot(first)
        self.touch("assist" if assisted else "start")
        self.wait_screen("consent")
        self.touch("id_data-agree")
        self.touch("biometrics-disagree" if agent_pin else "biometrics-agree")
        shot("consent")
        self.touch("consent-next")
        while True:
            screen = self.wait_screen("card", "check", "face", "agentcheck", "form", "ended")
            if screen in ("card", "face"):
                self._camera_step(screen, shot)
            elif screen == "check":
                shot("check")
                for name, value in (picks or {}).items():
                    self.touch(f"pick-{name}-{value}")
                    self.wait(f"the {name} picked", self._card_complete)
                    shot(f"check-picked-{name}")
                self.touch("check-ok")
                self.wait_screen("face", "agentcheck", "ended")
            elif screen == "agentcheck" and agent_pin:
                self.type_keys(agent_pin)
                shot("agentcheck")
                self.touch("agentcheck-confirm")
                self.wait_screen("form", "ended")
            else:
                break
        if self.current() == "ended":
            shot("ended")
            return "ended"
        self.fill_form(applicant, shot)
        screen = self.wait_screen("offer", "receipt", "ended")
        if screen == "offer":
            shot("offer")
            self.touch("offer-accept")
            self.wait_screen("confirm")
            shot("confirm")
            self.touch("confirm")
            screen = self.wait_screen("receipt", "ended")
        shot(screen)
        if screen == "receipt":
            self.touch("finish")
        return screen

    def _camera_step(self, screen: str, shot: Callable[[str], None]) -> None:
        """A camera screen: once its preview shows the person (a few frames), its screenshot;
        then its end, touching "try again" where it is offered."""
        frames = {"card": 3, "face": 8}[screen]
        self.wait(f"the {screen} in the preview", lambda: self.app.manager.current != screen or
                  self.app.screen.camera.frames_shown > frames)  # fmt: skip
        shot(screen)
        if self.current() == screen:
            self._next_try(f"{screen}-try-again", screen)

    def _next_try(self, again: str, screen: str) -> None:
        """Wait for the camera step's end: another screen, or the same one offering another try."""
        self.wait(f"the end of the {screen} step",
                  lambda: self.app.manager.current != screen or (self.find(again) is not None))  # fmt: skip
        if self.current() == screen:
            self.touch(again)

    def fill_form(self, applicant: DemoApplicant, shot: Callable[[str], None]) -> None:
        form = applicant.form
        self.wait_screen("form")
        amounts = [int(a.tag.split("-")[1]) for a in self._widgets_tagged("amount-")]
        nearest = min(amounts, key=lambda a: abs(a - int(form.amount)))
        self.touch(f"amount-{nearest}")
        self.touch(f"term_months-{form.term_months}")
        shot("form-loan")
        self.touch("form-next")
        self.touch(f"purpose-{form.purpose}")
        shot("form-purpose")
        self.touch("form-next")
        self.type_keys(form.phone)
        shot("form-phone")
        self.touch("form-next")
        from terminal_app.core.form_choices import ABOUT_YOU

        for i, question in enumerate(ABOUT_YOU):
            value = getattr(form, question.field)
            picks = [c.value for c in question.choices]
            chosen = value if value in picks else min(picks, key=lambda p: abs(p - value))  # a band holds the number
            self.touch(f"{question.field}-{chosen}")
            if i % 3 == 2:
                shot(f"form-about-{i // 3 + 1}")
                self.touch("form-next")

    def _card_complete(self) -> bool:
        """On Kivy's thread: the card check's "correct" can be pressed."""
        button = self.find("check-ok")
        return button is not None and not button.disabled

    def type_keys(self, digits: str) -> None:
        """Digits on the keypad shown."""
        for digit in digits:
            self.touch(f"key-{digit}")

    def _widgets_tagged(self, prefix: str) -> list[Widget]:
        return self.on_ui(lambda: [w for w in self._widgets() if str(getattr(w, "tag", "")).startswith(prefix)])

    def _shooter(self, shots: Path | None, prefix: str, stop_at: str | None = None) -> Callable[[str], None]:
        counter = iter(range(1, 1000))

        def shot(name: str) -> None:
            self.seen[name] = self.texts()
            if shots is not None:
                self.screenshot(shots / f"{prefix}{next(counter):02d}-{name}.png")
            if name == stop_at:
                raise _Reached(name)

        return shot
