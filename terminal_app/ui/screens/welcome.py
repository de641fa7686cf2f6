"""Welcome / attract: one big button, and while nobody is applying a short rotating set of
anti-fraud and sensible-borrowing messages."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.uix.anchorlayout import AnchorLayout

from terminal_app.core.flow import FlowState
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import GREEN, GREY, INK, RED, BigButton, Panel, Words

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
        corner = AnchorLayout(anchor_x="right", anchor_y="bottom", padding=12)
        corner.add_widget(BigButton(self.t("agent_corner"), "agent-corner", on_press=app.show_agent_login, size=16,
                                    color=GREY, size_hint=(None, None), width=160, height=64))  # fmt: skip
        self.add_widget(corner)
        self._shown = 0
        self._rotation = None

    def enter(self, state: FlowState | None) -> None:
        """Shown: the attract messages, or, while a guardrail stops the terminal, why (and no
        start button)."""
        self._shown = 0
        stopped = self.app.guardrail_stop()
        self.start.disabled = bool(stopped)
        self.start.opacity = 0 if stopped else 1
        if stopped:
            self.subtitle.text = self.t("stopped_title")
            self.subtitle.color = RED
            self.attract.text = self.t("stopped_body", what=stopped)
        else:
            self.subtitle.text = self.t("welcome_subtitle")
            self.subtitle.color = INK
            self._next_message()
        if self._rotation is None:
            self._rotation = Clock.schedule_interval(lambda dt: self._rotate(), ATTRACT_EVERY_S)

    def _rotate(self) -> None:
        """Every few seconds: the next message, and the guardrails looked at again."""
        was_stopped = self.start.disabled
        if bool(self.app.guardrail_stop()) != was_stopped:
            self.enter(None)
        elif not was_stopped:
            self._next_message()

    def on_leave(self, *args) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            self._rotation = None

    def _next_message(self) -> None:
        self.attract.text = self.t(ATTRACT[self._shown % len(ATTRACT)])
        self._shown += 1
