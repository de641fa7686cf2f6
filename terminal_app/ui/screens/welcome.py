"""Welcome / attract: one big button, and while nobody is applying a short rotating set of
anti-fraud and sensible-borrowing messages."""

from __future__ import annotations

from kivy.clock import Clock

from terminal_app.core.flow import FlowState
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import GREEN, BigButton, Panel, Words

ATTRACT = ("attract_1", "attract_2", "attract_3", "attract_4", "attract_5")
ATTRACT_EVERY_S = 7.0


class WelcomeScreen(KioskScreen):
    spoken_key = "start_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="welcome", **kw)
        panel = Panel(padding=[80, 40])
        self.title = Words(self.t("welcome_title"), size=56, bold=True, size_hint_y=0.25)
        self.subtitle = Words(self.t("welcome_subtitle"), size=28, size_hint_y=0.12)
        self.start = BigButton(self.t("start"), "start", on_press=app.start_session, size=52, color=GREEN,
                               size_hint=(0.6, 0.3), pos_hint={"center_x": 0.5})  # fmt: skip
        self.attract = Words("", size=26, size_hint_y=0.25)
        self.notice = Words("", size=22, size_hint_y=0.08)
        for widget in (self.title, self.subtitle, self.start, self.attract, self.notice):
            panel.add_widget(widget)
        self.add_widget(panel)
        self._shown = 0
        self._rotation = None

    def enter(self, state: FlowState | None) -> None:
        self._shown = 0
        self._next_message()
        if self._rotation is None:
            self._rotation = Clock.schedule_interval(lambda dt: self._next_message(), ATTRACT_EVERY_S)

    def on_leave(self, *args) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            self._rotation = None

    def _next_message(self) -> None:
        self.attract.text = self.t(ATTRACT[self._shown % len(ATTRACT)])
        self._shown += 1
