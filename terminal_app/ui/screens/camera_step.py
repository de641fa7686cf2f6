"""What the card and face screens share: the preview on the left, on the right the step's title
and hint, its own widgets, the instruction (large), the reason a try failed and "try again"
while tries are left. The step's engine runs on the session driver's worker from `enter`."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from terminal_app.core.events import CameraFrame, Instruction
from terminal_app.core.flow import FlowState
from terminal_app.core.reasons import Reason
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import BLUE, GREY, RED, BigButton, CameraView, Panel, Words


class CameraStepScreen(KioskScreen):
    guide = "card"  # the preview's guide: "card" or "face"

    def _lay_out(self, title_key: str, hint_key: str, own: list[Widget]) -> None:
        body = BoxLayout(orientation="horizontal", padding=16, spacing=16)
        self.camera = CameraView(size_hint_x=0.6)
        self.camera.guide = self.guide
        side = Panel(size_hint_x=0.4, padding=8, spacing=8)
        self.instruction = Words("", size=34, bold=True, color=BLUE, size_hint_y=0.18)
        self.error = Words("", size=24, color=RED, size_hint_y=0.15)
        self.again = BigButton(self.t("try_again"), f"{self.name}-try-again", on_press=self._again, size=30,
                               size_hint_y=0.13, disabled=True, opacity=0)  # fmt: skip
        # for a person who missed it, or an agent stepping in: the instruction shown and said again
        self.repeat = BigButton(self.t("repeat"), f"{self.name}-repeat", on_press=self._repeat, size=22,
                                color=GREY, size_hint=(0.6, 0.09), pos_hint={"center_x": 0.5})  # fmt: skip
        for widget in (Words(self.t(title_key), size=34, bold=True, size_hint_y=0.12),
                       Words(self.t(hint_key), size=22, size_hint_y=0.1), *own, self.instruction, self.repeat,
                       self.error, self.again):  # fmt: skip
            side.add_widget(widget)
        body.add_widget(self.camera)
        body.add_widget(side)
        self.add_widget(body)

    def enter(self, state: FlowState | None) -> None:
        self.camera.clear()
        self._reset()
        self.app.start_camera_step()

    def _reset(self) -> None:
        self.instruction.text = self.error.text = ""
        self._show_again(False)

    def refresh(self, state: FlowState) -> None:
        """A try ended without a result the flow took: the reason, the tries left, "try again"."""
        if state.error is not None:
            lines = self._why(state.error)
            if state.attempts_left:
                lines.append(self.t("attempts_left", left=state.attempts_left))
            self.error.text = "\n".join(lines)
        self.instruction.text = ""
        self._show_again(bool(state.attempts_left))

    def _why(self, error: Reason) -> list[str]:
        return [error.text(self.app.language)]

    def _repeat(self) -> None:
        self.app.say(self.instruction.text or self.t(self.spoken_key))

    def _again(self) -> None:
        self._reset()
        self.app.start_camera_step()

    def _show_again(self, shown: bool) -> None:
        self.again.disabled = not shown
        self.again.opacity = 1 if shown else 0

    def on_event(self, event: object) -> None:
        if isinstance(event, CameraFrame):
            self.camera.show(event.image, event.card_outline)
        elif isinstance(event, Instruction):
            self.instruction.text = event.reason.text(self.app.language)
