"""What every screen shares: the app it belongs to, its words, and the hooks the app calls
(`enter` when shown, `refresh` when the flow's state changed under it, `on_event` for a camera
step's instructions and progress)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.uix.screenmanager import Screen

from terminal_app.core.flow import FlowState

if TYPE_CHECKING:
    from terminal_app.ui.app import KioskApp


class KioskScreen(Screen):
    spoken_key = ""  # the [screen] entry spoken when it is shown

    def __init__(self, app: KioskApp, **kw):
        super().__init__(**kw)
        self.app = app

    def t(self, key: str, **params: object) -> str:
        return self.app.words("screen", key, **params)

    def enter(self, state: FlowState | None) -> None:
        """Shown: fill in what the flow holds now."""

    def refresh(self, state: FlowState) -> None:
        """The flow's state changed while this screen is shown (a try failed, time is running out)."""

    def on_event(self, event: object) -> None:
        """A camera step's instruction, progress or frame (on the UI thread)."""
