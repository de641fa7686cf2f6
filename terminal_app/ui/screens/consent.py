"""Consent (PIPL): ID data and biometrics as two separate choices, each saying what is kept, for
how long and why. "Next" is possible once both are chosen; the flow decides what a refusal means
(it ends the session and wipes it)."""

from __future__ import annotations

import time

from kivy.uix.boxlayout import BoxLayout

from terminal_app.core import message_catalogue as mc
from terminal_app.core.flow import FlowState
from terminal_app.core.steps import ConsentRecord
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import GREEN, BigButton, Choice, Panel, Words


class ConsentScreen(KioskScreen):
    spoken_key = "consent_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="consent", **kw)
        self.answers: dict[str, bool] = {}
        panel = Panel(padding=[48, 12], spacing=10)
        panel.add_widget(Words(self.t("consent_title"), size=38, bold=True, size_hint_y=0.1))
        panel.add_widget(Words(self.t("consent_intro"), size=22, size_hint_y=0.08))
        for part, title, body in (("id_data", "consent_id_title", "consent_id_body"),
                                  ("biometrics", "consent_bio_title", "consent_bio_body")):  # fmt: skip
            panel.add_widget(Words(self.t(title), size=28, bold=True, halign="left", size_hint_y=0.08))
            panel.add_widget(Words(self.t(body), size=22, halign="left", size_hint_y=0.16))
            row = BoxLayout(spacing=24, size_hint_y=0.11, padding=[120, 0])
            for value, key in ((True, "agree"), (False, "disagree")):
                row.add_widget(Choice(self.t(key), f"{part}-{key}", value, f"consent-{part}",
                                      on_pick=lambda v, p=part: self._pick(p, v), size=28))  # fmt: skip
            panel.add_widget(row)
        self.next = BigButton(self.t("next"), "consent-next", on_press=self._submit, color=GREEN, size=32,
                              size_hint=(0.4, 0.12), pos_hint={"center_x": 0.5}, disabled=True)  # fmt: skip
        panel.add_widget(self.next)
        self.add_widget(panel)

    def enter(self, state: FlowState | None) -> None:
        self.answers = {}
        for child in self.walk():
            if isinstance(child, Choice):
                child.state = "normal"
        self.next.disabled = True

    def _pick(self, part: str, value: bool) -> None:
        self.answers[part] = value
        self.next.disabled = len(self.answers) < 2

    def _submit(self) -> None:
        if len(self.answers) < 2 or self.next.disabled:
            return
        self.next.disabled = True  # given once
        language = self.app.language
        record = ConsentRecord(
            id_data=self.answers["id_data"],
            biometrics=self.answers["biometrics"],
            text_version=mc.consent_text_version(language),
            language=language,
            given_at=time.time(),
        )
        self.app.driver_call("give_consent", record)
