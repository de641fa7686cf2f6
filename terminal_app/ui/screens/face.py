"""Liveness: the preview (mirrored) with a face oval, the current challenge as an icon, a word
and a voice, a ring that fills as the challenges are done, and the reason named when it fails."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from terminal_app.core import message_catalogue as mc
from terminal_app.core.events import CameraFrame, Instruction, Progress
from terminal_app.core.flow import FlowState
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import BLUE, RED, BigButton, CameraView, ChallengeIcon, Panel, ProgressRing, Words


class FaceScreen(KioskScreen):
    spoken_key = "face_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="face", **kw)
        body = BoxLayout(orientation="horizontal", padding=16, spacing=16)
        self.camera = CameraView(size_hint_x=0.6)
        self.camera.guide = "face"
        side = Panel(size_hint_x=0.4, padding=8, spacing=8)
        side.add_widget(Words(self.t("face_title"), size=34, bold=True, size_hint_y=0.12))
        self.hint = Words(self.t("face_hint"), size=22, size_hint_y=0.1)
        self.icon = ChallengeIcon(size_hint_y=0.22)
        self.instruction = Words("", size=36, bold=True, color=BLUE, size_hint_y=0.14)
        self.ring = ProgressRing(size_hint_y=0.14)
        self.progress = Words("", size=20, size_hint_y=0.06)
        self.error = Words("", size=24, color=RED, size_hint_y=0.12)
        self.again = BigButton(self.t("try_again"), "face-try-again", on_press=self._again, size=30,
                               size_hint_y=0.12, disabled=True, opacity=0)  # fmt: skip
        for widget in (self.hint, self.icon, self.instruction, self.ring, self.progress, self.error, self.again):
            side.add_widget(widget)
        body.add_widget(self.camera)
        body.add_widget(side)
        self.add_widget(body)

    def enter(self, state: FlowState | None) -> None:
        self.camera.clear()
        self._reset()
        self.app.start_camera_step()

    def _reset(self) -> None:
        self.icon.kind = ""
        self.instruction.text = self.progress.text = self.error.text = ""
        self.ring.done, self.ring.total = 0, 1
        self._show_again(False)

    def refresh(self, state: FlowState) -> None:
        if state.error is not None:
            lines = [state.error.text(self.app.language)]
            detail = dict(state.error.params).get("detail")
            named = detail and mc.render(self.app.language, "reason", detail, {})
            if named:
                lines.append(named)
            if state.attempts_left:
                lines.append(self.t("attempts_left", left=state.attempts_left))
            self.error.text = "\n".join(lines)
        self.icon.kind = ""
        self.instruction.text = ""
        self._show_again(bool(state.attempts_left))

    def _again(self) -> None:
        self._reset()
        self.app.start_camera_step()

    def _show_again(self, shown: bool) -> None:
        self.again.disabled = not shown
        self.again.opacity = 1 if shown else 0

    def on_event(self, event: object) -> None:
        if isinstance(event, CameraFrame):
            self.camera.show(event.image)
        elif isinstance(event, Instruction):
            self.instruction.text = event.reason.text(self.app.language)
        elif isinstance(event, Progress):
            self.icon.kind = event.label
            self.ring.total, self.ring.done = event.total, event.done
            self.progress.text = self.t("challenge_progress", done=event.done + 1, total=event.total)
