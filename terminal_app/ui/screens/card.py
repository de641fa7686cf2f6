"""The ID card: the live preview with the card's outline where the capture found it, its
instructions large (and spoken by the app); then the card check, the fields read, large, for the
applicant to confirm or have read again. The capture itself runs on the session driver's worker."""

from __future__ import annotations

from datetime import date

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from terminal_app.core.events import Progress
from terminal_app.core.flow import FlowState
from terminal_app.core.steps import IdCardFields
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.screens.camera_step import CameraStepScreen
from terminal_app.ui.widgets import GREEN, GREY, RED, BigButton, Panel, Words


class CardScreen(CameraStepScreen):
    spoken_key = "card_spoken"
    guide = "card"

    def __init__(self, app, **kw):
        super().__init__(app, name="card", **kw)
        self.progress = Words("", size=22, size_hint_y=0.08)
        self._lay_out("card_title", "card_hint", [self.progress])

    def _reset(self) -> None:
        super()._reset()
        self.progress.text = ""

    def on_event(self, event: object) -> None:
        if isinstance(event, Progress):
            self.progress.text = self.t("side_progress", done=event.done + 1, total=event.total)
        else:
            super().on_event(event)


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
        self.buttons = [BigButton(self.t("check_wrong"), "check-wrong", on_press=self._wrong, color=GREY, size=28),
                        BigButton(self.t("check_ok"), "check-ok", on_press=self._ok, color=GREEN, size=32)]  # fmt: skip
        for button in self.buttons:
            row.add_widget(button)
        panel.add_widget(row)
        self.add_widget(panel)

    def _answered(self, done: bool) -> None:
        for button in self.buttons:  # one answer: a second tap (or the other button) does nothing
            button.disabled = done

    def enter(self, state: FlowState | None) -> None:
        self.error.text = ""
        self._answered(False)
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
        self._answered(True)
        self.app.card_confirmed = True
        self.app.follow()

    def _wrong(self) -> None:
        self._answered(True)
        self.app.driver_call("retake_card")

    def refresh(self, state: FlowState) -> None:
        """Reading it again was refused: why (the face was checked already, no try left)."""
        if state.error is not None:
            self.error.text = state.error.text(self.app.language)
        self._answered(False)
