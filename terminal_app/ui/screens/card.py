"""The ID card: the live preview with the card's outline where the capture found it, its
instructions large (and spoken by the app); then the card check, the fields read, large, for the
applicant to confirm or have read again. The capture itself runs on the session driver's worker."""

from __future__ import annotations

from datetime import date

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from terminal_app.core.events import CameraFrame, Instruction, Progress
from terminal_app.core.flow import FlowState
from terminal_app.core.steps import IdCardFields
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import BLUE, GREEN, GREY, RED, BigButton, CameraView, Panel, Words


class CardScreen(KioskScreen):
    spoken_key = "card_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="card", **kw)
        body = BoxLayout(orientation="horizontal", padding=16, spacing=16)
        self.camera = CameraView(size_hint_x=0.62)
        self.camera.guide = "card"
        side = Panel(size_hint_x=0.38, padding=8)
        self.title = Words(self.t("card_title"), size=34, bold=True, size_hint_y=0.15)
        self.hint = Words(self.t("card_hint"), size=22, size_hint_y=0.15)
        self.instruction = Words("", size=34, bold=True, color=BLUE, size_hint_y=0.3)
        self.progress = Words("", size=22, size_hint_y=0.08)
        self.error = Words("", size=24, color=RED, size_hint_y=0.17)
        self.again = BigButton(self.t("try_again"), "card-try-again", on_press=self._again, size=30,
                               size_hint_y=0.15, disabled=True, opacity=0)  # fmt: skip
        for widget in (self.title, self.hint, self.instruction, self.progress, self.error, self.again):
            side.add_widget(widget)
        body.add_widget(self.camera)
        body.add_widget(side)
        self.add_widget(body)

    def enter(self, state: FlowState | None) -> None:
        self.camera.clear()
        self.instruction.text = self.progress.text = self.error.text = ""
        self._show_again(False)
        self.app.start_camera_step()

    def refresh(self, state: FlowState) -> None:
        """A try ended without a card the flow took: the reason, the tries left, "try again"."""
        if state.error is not None:
            self.error.text = state.error.text(self.app.language)
            if state.attempts_left:
                self.error.text += "\n" + self.t("attempts_left", left=state.attempts_left)
        self.instruction.text = ""
        self._show_again(bool(state.attempts_left))

    def _again(self) -> None:
        self.error.text = ""
        self._show_again(False)
        self.app.start_camera_step()

    def _show_again(self, shown: bool) -> None:
        self.again.disabled = not shown
        self.again.opacity = 1 if shown else 0

    def on_event(self, event: object) -> None:
        if isinstance(event, CameraFrame):
            self.camera.show(event.image, event.card_outline)
        elif isinstance(event, Instruction):
            self.instruction.text = event.reason.text(self.app.language)
        elif isinstance(event, Progress):
            self.progress.text = self.t("side_progress", done=event.done + 1, total=event.total)


def _when(value: date | str | None, long_term: str) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%Y.%m.%d")
    return long_term if value == "长期" else str(value)


class CardCheckScreen(KioskScreen):
    spoken_key = "check_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="check", **kw)
        panel = Panel(padding=[60, 16])
        panel.add_widget(Words(self.t("check_title"), size=38, bold=True, size_hint_y=0.12))
        self.fields = GridLayout(cols=2, spacing=[24, 6], size_hint_y=0.62)
        panel.add_widget(self.fields)
        self.error = Words("", size=24, color=RED, size_hint_y=0.08)
        panel.add_widget(self.error)
        row = BoxLayout(spacing=32, size_hint_y=0.16, padding=[80, 0])
        row.add_widget(BigButton(self.t("check_wrong"), "check-wrong", on_press=self._wrong, color=GREY, size=28))
        row.add_widget(BigButton(self.t("check_ok"), "check-ok", on_press=self._ok, color=GREEN, size=32))
        panel.add_widget(row)
        self.add_widget(panel)

    def enter(self, state: FlowState | None) -> None:
        self.error.text = ""
        self.fields.clear_widgets()
        card = self.app.driver.card() if self.app.driver else None
        if card is not None:
            for key, value in self._rows(card):
                self.fields.add_widget(Words(self.t(key), size=24, color=GREY, halign="right", size_hint_x=0.28))
                shown = value or self.t("not_read")
                self.fields.add_widget(Words(shown, size=32 if key != "field_address" else 26, bold=bool(value),
                                             halign="left", color=(0.1, 0.1, 0.1, 1) if value else RED))  # fmt: skip

    def _rows(self, card: IdCardFields) -> list[tuple[str, str]]:
        sex = self.t(f"sex_{card.sex}") if card.sex in ("M", "F") else card.sex
        valid = ""
        if card.valid_from is not None:
            valid = f"{_when(card.valid_from, '')} - {_when(card.valid_to, self.t('long_term'))}"
        return [
            ("field_name", card.name),
            ("field_sex", sex),
            ("field_ethnicity", card.ethnicity),
            ("field_birth_date", card.birth_date.strftime("%Y.%m.%d")),
            ("field_address", card.address),
            ("field_id_number", card.id_number),
            ("field_authority", card.authority),
            ("field_valid", valid),
        ]

    def _ok(self) -> None:
        self.app.card_confirmed = True
        self.app.follow()

    def _wrong(self) -> None:
        self.app.driver_call("retake_card")

    def refresh(self, state: FlowState) -> None:
        """Reading it again was refused: why (the face was checked already, no try left)."""
        if state.error is not None:
            self.error.text = state.error.text(self.app.language)
