"""After the form: scoring (a moment), the offer with its whole repayment schedule, the confirm
step, the receipt (its number and QR code, what happens next, and for a refer or decline the
reasons and the right to a person's review), and the end of a session that did not submit."""

from __future__ import annotations

from decimal import Decimal

from kivy.clock import Clock
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView

from terminal_app.core.decision import Outcome
from terminal_app.core.flow import EndReason, FlowState
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import BLUE, GREEN, GREY, RED, BigButton, Panel, QrCode, Words

ENDED_BACK_HOME_S = 12.0


def money(value: Decimal | int) -> str:
    return f"{Decimal(value):,.2f}"


def percent(rate: Decimal) -> str:
    return f"{rate * 100:.2f}%"


class ScoringScreen(KioskScreen):
    def __init__(self, app, **kw):
        super().__init__(app, name="scoring", **kw)
        panel = Panel(padding=[80, 160])
        panel.add_widget(Words(self.t("scoring_title"), size=44, bold=True))
        self.add_widget(panel)

    def enter(self, state: FlowState | None) -> None:
        self.app.score_in_background()


class OfferScreen(KioskScreen):
    def __init__(self, app, **kw):
        super().__init__(app, name="offer", **kw)
        panel = Panel(padding=[40, 8], spacing=8)
        self.title = Words(self.t("offer_title"), size=30, bold=True, size_hint_y=0.07)
        self.amount = Words("", size=52, bold=True, color=BLUE, size_hint_y=0.11)
        self.figures = GridLayout(cols=4, spacing=8, size_hint_y=0.17)
        self.schedule_title = Words(self.t("schedule_title"), size=24, bold=True, size_hint_y=0.06)
        self.scroll = ScrollView(size_hint_y=0.41, do_scroll_x=False)
        self.rows = Words("", size=22, halign="left", size_hint_y=None, line_height=1.5)  # one texture, not 12 labels
        self.rows.bind(texture_size=lambda _, size: setattr(self.rows, "height", size[1]))
        self.scroll.add_widget(self.rows)
        row = BoxLayout(spacing=40, size_hint_y=0.13, padding=[100, 4])
        answer = self.app.driver_call
        row.add_widget(BigButton(self.t("reject"), "offer-reject", on_press=lambda: answer("answer_offer", False),
                                 color=GREY, size=28))  # fmt: skip
        row.add_widget(BigButton(self.t("accept"), "offer-accept", on_press=lambda: answer("answer_offer", True),
                                 color=GREEN, size=32))  # fmt: skip
        for widget in (self.title, self.amount, self.figures, self.schedule_title, self.scroll, row):
            panel.add_widget(widget)
        self.add_widget(panel)

    def enter(self, state: FlowState | None) -> None:
        offer = state.offer if state else None
        if offer is None:
            return
        term = self.t("term_n", n=offer.term_months)
        self.amount.text = f"{self.t('amount_value', amount=money(offer.amount))}  ·  {term}"
        self.app.say(self.t("offer_spoken", amount=money(offer.amount)))
        self.figures.clear_widgets()
        for key, value in (("monthly_payment", money(offer.monthly_payment)), ("apr", percent(offer.apr)),
                           ("total_interest", money(offer.total_interest)),
                           ("total_repayment", money(offer.total_repayment))):  # fmt: skip
            cell = BoxLayout(orientation="vertical")
            cell.add_widget(Words(self.t(key), size=20, color=GREY))
            cell.add_widget(Words(value, size=34, bold=True))
            self.figures.add_widget(cell)
        self.rows.text = "\n".join(
            self.t("schedule_row", month=i.month, payment=money(i.payment), principal=money(i.principal),
                   interest=money(i.interest))
            for i in offer.schedule
        )  # fmt: skip


class ConfirmScreen(KioskScreen):
    spoken_key = "confirm_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="confirm", **kw)
        panel = Panel(padding=[100, 60], spacing=30)
        panel.add_widget(Words(self.t("confirm_title"), size=44, bold=True, size_hint_y=0.2))
        self.summary = Words("", size=32, size_hint_y=0.4)
        panel.add_widget(self.summary)
        self.confirm = BigButton(self.t("confirm_button"), "confirm", on_press=self._confirm, color=GREEN, size=44,
                                 size_hint=(0.5, 0.3), pos_hint={"center_x": 0.5})  # fmt: skip
        panel.add_widget(self.confirm)
        self.add_widget(panel)

    def enter(self, state: FlowState | None) -> None:
        self.confirm.disabled = False
        offer = state.offer if state else None
        if offer is not None:
            self.summary.text = self.t("confirm_body", amount=money(offer.amount), term=offer.term_months,
                                       monthly=money(offer.monthly_payment))  # fmt: skip

    def _confirm(self) -> None:
        self.confirm.disabled = True  # one press submits once; a refusal re-enables it (refresh)
        self.app.driver_call("confirm")

    def refresh(self, state: FlowState) -> None:
        self.confirm.disabled = False


class ReceiptScreen(KioskScreen):
    def __init__(self, app, **kw):
        super().__init__(app, name="receipt", **kw)
        body = BoxLayout(orientation="horizontal", padding=24, spacing=24)
        left = Panel(size_hint_x=0.64, padding=8, spacing=10)
        self.title = Words("", size=40, bold=True, size_hint_y=0.14)
        self.number_label = Words(self.t("receipt_number"), size=22, color=GREY, size_hint_y=0.06)
        self.number = Words("", size=26, bold=True, size_hint_y=0.08)
        self.next_steps = Words("", size=24, size_hint_y=0.14)
        self.reasons = Words("", size=24, color=RED, halign="left", size_hint_y=0.24)
        self.review = Words("", size=22, halign="left", size_hint_y=0.2)
        for widget in (self.title, self.number_label, self.number, self.next_steps, self.reasons, self.review):
            left.add_widget(widget)
        right = Panel(size_hint_x=0.36, padding=8)
        self.qr = QrCode(size_hint_y=0.7)
        right.add_widget(self.qr)
        right.add_widget(BigButton(self.t("finish"), "finish", on_press=lambda: self.app.driver_call("finish"),
                                   color=GREEN, size=36, size_hint_y=0.3))  # fmt: skip
        body.add_widget(left)
        body.add_widget(right)
        self.add_widget(body)

    def enter(self, state: FlowState | None) -> None:
        if state is None:
            return
        outcome = state.decision.outcome if state.decision else Outcome.REFER
        kind = {Outcome.APPROVE: "approve", Outcome.REFER: "refer", Outcome.DECLINE: "decline"}[outcome]
        self.title.text = self.t(f"receipt_{kind}")
        self.title.color = RED if kind == "decline" else GREEN
        self.number.text = state.application_id or ""
        self.qr.data = state.application_id or ""
        self.next_steps.text = self.t(f"receipt_next_{kind}")
        if kind == "approve":
            self.reasons.text = self.review.text = ""
            self.app.say_key("receipt_spoken")
        else:
            assert state.decision is not None
            lines = [r.text(self.app.language) for r in state.decision.reasons]
            self.reasons.text = self.t("reasons_title") + "\n" + "\n".join(f"· {line}" for line in lines)
            self.review.text = self.t("review_right")
            self.app.say_key("receipt_decline_spoken" if kind == "decline" else "receipt_spoken")


class EndedScreen(KioskScreen):
    spoken_key = "ended_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="ended", **kw)
        panel = Panel(padding=[120, 60], spacing=20)
        self.title = Words(self.t("ended_title"), size=44, bold=True, size_hint_y=0.18)
        self.why = Words("", size=32, color=RED, size_hint_y=0.16)
        self.detail = Words("", size=26, size_hint_y=0.3)
        self.wiped = Words(self.t("ended_wiped"), size=26, size_hint_y=0.1)
        self.home = BigButton(self.t("home"), "home", on_press=app.close_session, size=36, size_hint=(0.4, 0.2),
                              pos_hint={"center_x": 0.5})  # fmt: skip
        for widget in (self.title, self.why, self.detail, self.wiped, self.home):
            panel.add_widget(widget)
        self.add_widget(panel)
        self._back_home = None

    def enter(self, state: FlowState | None) -> None:
        reason = state.end_reason if state else None
        self.why.text = self.t(f"end_{reason}") if reason else ""
        self.detail.text = ""
        if state is not None and state.error is not None:
            params = dict(state.error.params)
            if state.error.code == "consent_refused" and params.get("missing") == "biometrics":
                self.why.text = self.t("no_face_title")
                self.detail.text = self.t("no_face_body")
            elif reason is not EndReason.CANCELLED:
                self.detail.text = state.error.text(self.app.language)
        self._back_home = Clock.schedule_once(lambda dt: self.app.close_session(), ENDED_BACK_HOME_S)

    def on_leave(self, *args) -> None:
        if self._back_home is not None:
            self._back_home.cancel()
            self._back_home = None
