"""The ID card: the live preview with the card's outline where the capture found it, its
instructions large (and spoken by the app); then the card check, the fields read, large, for the
applicant to confirm or have read again. The capture itself runs on the session driver's worker."""

from __future__ import annotations

from datetime import date

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView

from terminal_app.core.events import Progress
from terminal_app.core.flow import PICK_LISTS, FlowState
from terminal_app.core.reasons import Reason
from terminal_app.core.steps import IdCardFields
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.screens.camera_step import CameraStepScreen
from terminal_app.ui.widgets import BLUE, GREEN, GREY, RED, BigButton, Panel, Words

PICKER_HEIGHT = 250  # four rows of the 56 names


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
        self.picker = ScrollView(size_hint_y=None, height=0, opacity=0, do_scroll_x=False)  # an unread field's list
        self.choices = GridLayout(cols=10, spacing=6, size_hint_y=None, row_default_height=56)
        self.choices.bind(minimum_height=self.choices.setter("height"))
        self.picker.add_widget(self.choices)
        panel.add_widget(self.picker)
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
        card = self.app.driver.card() if self.app.driver and not done else None
        if card is not None and card.unread:
            self.buttons[1].disabled = True

    def enter(self, state: FlowState | None) -> None:
        self.error.text = ""
        self._answered(False)
        self.fields.clear_widgets()
        card = self.app.driver.card() if self.app.driver else None
        self._show_picker(card)
        if card is not None:
            for key, value in self._rows(card):
                self.fields.add_widget(Words(self.t(key), size=24, color=GREY, halign="right", size_hint_x=0.28))
                shown = value or self.t("not_read")
                self.fields.add_widget(Words(shown, size=32 if key != "field_address" else 26, bold=bool(value),
                                             halign="left", color=(0.1, 0.1, 0.1, 1) if value else RED))  # fmt: skip

    def _show_picker(self, card: IdCardFields | None) -> None:
        """A field the capture could not read: its list for the assisting agent to pick from (the
        applicant says which), or, with no agent, a call for one; the card cannot be confirmed
        until it is complete."""
        self.choices.clear_widgets()
        unread = card.unread[0] if card is not None and card.unread else None
        agent = self.app.driver.agent if self.app.driver else None
        if unread is not None and agent is not None:
            for value in PICK_LISTS[unread]:
                self.choices.add_widget(BigButton(value, f"pick-{unread}-{value}", size=20, color=BLUE,
                                                  on_press=lambda v=value: self._pick(unread, v)))  # fmt: skip
            self.error.text = self.t("pick_field", field=self.t(f"field_{unread}"))
        elif unread is not None:
            self.error.text = Reason("card_field_unread", field=unread).text(self.app.language)
        self.picker.height = PICKER_HEIGHT if unread is not None and agent is not None else 0
        self.picker.opacity = 1 if self.picker.height else 0
        self.buttons[1].disabled = unread is not None  # "correct" only once the card is complete

    def _pick(self, name: str, value: str) -> None:
        self.picker.opacity = 0.5
        self.app.driver_call("pick_card_field", name, value, then=lambda ok: self.enter(None))

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
