"""The field agent's screens: the login (agent number and PIN on keypads, against the signed roster,
offline), the console (terminal health, the outbox, today's applications by number only, sync
now, USB export and receipts, held envelopes released with a reason, an assisted application),
and the no-face path's check, where the agent confirms the person against the card and signs with
their PIN. What each shows comes from `Kiosk`; the app runs the slow calls off the UI thread."""

from __future__ import annotations

import time

import cv2
import numpy as np
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.scrollview import ScrollView

from terminal_app.core.flow import FlowState
from terminal_app.core.health import Health, State
from terminal_app.core.queue_view import RELEASE_REASONS, QueueRow, sync_problem
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import BLUE, GREEN, GREY, INK, RED, BigButton, Keypad, Panel, Words, bgr_texture

AMBER = (0.80, 0.50, 0.05, 1)
STATE_COLOUR = {State.OK: GREEN, State.ATTENTION: AMBER, State.STOP: RED}
PIN_LIMIT = 8
NUMBER_LIMIT = 8


class AgentLoginScreen(KioskScreen):
    """Agent number, then PIN; one keypad types into the field chosen."""

    def __init__(self, app, **kw):
        super().__init__(app, name="agent_login", **kw)
        panel = Panel(padding=[80, 16], spacing=10)
        panel.add_widget(Words(self.t("agent_login_title"), size=36, bold=True, size_hint_y=0.1))
        fields = BoxLayout(spacing=24, size_hint_y=0.14)
        self.number_field = BigButton("", "agent-number", on_press=lambda: self._target("number"), size=30, color=GREY)
        self.pin_field = BigButton("", "agent-pin", on_press=lambda: self._target("pin"), size=30, color=GREY)
        fields.add_widget(self.number_field)
        fields.add_widget(self.pin_field)
        panel.add_widget(fields)
        self.error = Words("", size=24, color=RED, size_hint_y=0.08)
        panel.add_widget(self.error)
        self.keypad = Keypad(limit=NUMBER_LIMIT, delete=self.t("delete"), clear=self.t("clear"),
                             size_hint=(0.6, 0.5), pos_hint={"center_x": 0.5})  # fmt: skip
        self.keypad.bind(typed=lambda *_: self._typed())
        panel.add_widget(self.keypad)
        row = BoxLayout(spacing=32, size_hint_y=0.13, padding=[120, 0])
        row.add_widget(BigButton(self.t("back"), "agent-login-back", on_press=app.agent_logout, color=GREY, size=28))
        self.submit = BigButton(self.t("agent_login"), "agent-login-submit", on_press=self._submit, color=GREEN,
                                size=30)  # fmt: skip
        row.add_widget(self.submit)
        panel.add_widget(row)
        self.add_widget(panel)
        self.values = {"number": "", "pin": ""}
        self.target = "number"

    def enter(self, state: FlowState | None) -> None:
        self.values = {"number": "", "pin": ""}
        self.error.text = ""
        self._target("number")

    def _target(self, name: str) -> None:
        self.target = name
        self.keypad.limit = NUMBER_LIMIT if name == "number" else PIN_LIMIT
        self.keypad.typed = self.values[name]
        self._show()

    def _typed(self) -> None:
        self.values[self.target] = self.keypad.typed
        self._show()

    def _show(self) -> None:
        number, pin = self.values["number"], self.values["pin"]
        self.number_field.text = f"{self.t('agent_number')}: {number}"
        self.pin_field.text = f"{self.t('agent_pin')}: {'●' * len(pin)}"
        self.number_field.background_color = BLUE if self.target == "number" else GREY
        self.pin_field.background_color = BLUE if self.target == "pin" else GREY
        self.submit.disabled = not (number and pin)

    def _submit(self) -> None:
        if self.submit.disabled:
            return
        self.submit.disabled = True
        self.error.text = ""
        self.app.agent_login(self.values["number"], self.values["pin"])

    def refused(self, text: str) -> None:
        """The login was refused (why, in words): the PIN is cleared, the number kept."""
        self.error.text = text
        self.values["pin"] = ""
        self._target("pin")


class AgentConsoleScreen(KioskScreen):
    """The terminal's health, outbox and today's applications, and what an agent does with them."""

    def __init__(self, app, **kw):
        super().__init__(app, name="agent", **kw)
        root = BoxLayout(orientation="horizontal", padding=[16, 8], spacing=16)
        actions = BoxLayout(orientation="vertical", spacing=10, size_hint_x=0.24)
        self.title = Words("", size=24, bold=True, size_hint_y=0.12)
        actions.add_widget(self.title)
        self.action_buttons = {}
        for key, tag, colour, press in (
            ("assist", "assist", GREEN, app.start_assisted),
            ("sync_now", "sync-now", BLUE, app.agent_sync),
            ("usb_export", "usb-export", BLUE, self._export),
            ("usb_receipts", "usb-receipts", BLUE, app.agent_import_receipts),
            ("release_held", "release-held", GREY, self._release),
            ("agent_logout", "agent-logout", RED, app.agent_logout),
        ):
            button = BigButton(self.t(key), tag, on_press=press, color=colour, size=24)
            self.action_buttons[tag] = button
            actions.add_widget(button)
        root.add_widget(actions)
        right = BoxLayout(orientation="vertical", spacing=6)
        self.message = Words("", size=22, color=BLUE, size_hint_y=0.1)
        right.add_widget(self.message)
        self.picks = BoxLayout(spacing=10, size_hint_y=None, height=0, opacity=0)
        right.add_widget(self.picks)
        right.add_widget(Words(self.t("health_title"), size=24, bold=True, size_hint_y=0.06, halign="left"))
        self.health = GridLayout(cols=3, spacing=[10, 2], size_hint_y=0.36)
        right.add_widget(self.health)
        self.outbox = Words("", size=20, halign="left", size_hint_y=0.06)
        self.updates = Words("", size=18, color=GREY, halign="left", size_hint_y=0.05)
        right.add_widget(self.outbox)
        right.add_widget(self.updates)
        right.add_widget(Words(self.t("today_title"), size=24, bold=True, size_hint_y=0.06, halign="left"))
        scroll = ScrollView(size_hint_y=0.27, do_scroll_x=False)
        self.today = GridLayout(cols=4, spacing=[10, 2], size_hint_y=None, row_default_height=34)
        self.today.bind(minimum_height=self.today.setter("height"))
        scroll.add_widget(self.today)
        right.add_widget(scroll)
        root.add_widget(right)
        self.add_widget(root)

    def enter(self, state: FlowState | None) -> None:
        agent = self.app.agent
        self.title.text = self.t("agent_title", agent=agent.agent_id if agent else "")
        self.say("")
        self.show_picks([])
        self.app.agent_refresh()

    def say(self, text: str, colour=BLUE) -> None:
        self.message.text = text
        self.message.color = colour

    def busy(self, busy: bool) -> None:
        for button in self.action_buttons.values():
            if button.tag != "agent-logout":
                button.disabled = busy

    def show_picks(self, picks: list[tuple[str, str, object]]) -> None:
        """A row of choices under the message (a stick, a reason): (label, tag, on_press)."""
        self.picks.clear_widgets()
        for label, tag, press in picks:
            self.picks.add_widget(BigButton(label, tag, on_press=press, size=20, color=BLUE))
        self.picks.height = 64 if picks else 0  # a zero size hint would be read as none: the height says it
        self.picks.opacity = 1 if picks else 0

    def show(self, health: Health, outbox: dict, updates: dict, model: str, rows: list[QueueRow]) -> None:
        language = self.app.language
        self.health.clear_widgets()
        for check in health.checks:
            self.health.add_widget(Words(self.t(f"check_{check.name}"), size=18, halign="left", size_hint_x=0.16))
            self.health.add_widget(Words(self.t(f"state_{check.state}"), size=18, bold=True,
                                         color=STATE_COLOUR[check.state], size_hint_x=0.1))  # fmt: skip
            line = check.reason.text(language)
            if check.state is not State.OK:
                line += " → " + check.advice(language)
            self.health.add_widget(Words(line, size=16, halign="left", size_hint_x=0.74))
        oldest = outbox["oldest_age_s"]
        self.outbox.text = self.t(
            "outbox_line",
            queued=outbox["queued"],
            oldest=self._age(oldest),
            held=outbox["held"],
            last=(outbox["last_success_at"] or self.t("never")).replace("T", " ").replace("Z", " UTC"),
        )
        problem = sync_problem(outbox["last_error"]["code"]) if outbox["last_error"] else None
        if problem is not None and outbox["consecutive_failures"]:
            self.outbox.text += "\n" + self.t("last_error", what=problem.text(language))
        signers = sorted({u["signed_by"] for u in updates.values() if u.get("signed_by")})
        refused = [self.t("update_refused", kind=self.t(f"check_{kind}"), version=u["refused"]["version"],
                          code=u["refused"]["code"]) for kind, u in updates.items() if u.get("refused")]  # fmt: skip
        self.updates.text = self.t("updates_line", config=updates["config"]["version"],
                                   roster=updates["roster"]["version"], blocklist=updates["blocklist"]["version"],
                                   model=model, signers=", ".join(signers) or self.t("none_waiting"))  # fmt: skip
        if refused:
            self.updates.text += "\n" + "；".join(refused)
        self.today.clear_widgets()
        if not rows:
            self.today.add_widget(Words(self.t("today_none"), size=18, color=GREY, halign="left"))
        for row in rows:
            self.today.add_widget(Words(row.application_id[:8].upper(), size=18, halign="left"))
            self.today.add_widget(Words(time.strftime("%H:%M", time.localtime(row.submitted_at)), size=18))
            outcome = self.t(f"outcome_{row.outcome}") if row.outcome else ""
            self.today.add_widget(Words(outcome, size=18))
            colour = RED if row.sync_state == "held" else (GREEN if row.sync_state == "delivered" else INK)
            self.today.add_widget(Words(self.t(f"sync_{row.sync_state}"), size=18, color=colour))

    def _age(self, seconds: float | None) -> str:
        if seconds is None:
            return self.t("none_waiting")
        if seconds < 3600:
            return self.t("minutes_ago", minutes=int(seconds // 60))
        return self.t("hours_ago", hours=round(seconds / 3600, 1))

    def _export(self) -> None:
        sticks = self.app.usb_sticks()
        if not sticks:
            self.say(self.t("usb_none"), RED)
            self.show_picks([])
            return
        self.say(self.t("usb_pick"))
        self.show_picks([(stick.name, f"usb-stick-{i}", lambda s=stick: self._export_to(s))
                         for i, stick in enumerate(sticks[:4])])  # fmt: skip

    def _export_to(self, stick) -> None:
        self.show_picks([])
        self.app.agent_export(stick)

    def _release(self) -> None:
        self.say(self.t("release_pick"))
        self.show_picks([(self.t(f"release_{reason}"), f"release-{reason}", lambda r=reason: self._release_for(r))
                         for reason in RELEASE_REASONS])  # fmt: skip

    def _release_for(self, reason: str) -> None:
        self.show_picks([])
        self.app.agent_release(reason)


class AgentCheckScreen(KioskScreen):
    """The no-face path: the card's photo, name and number for the agent to compare with the
    person, and the agent's PIN to sign that it is them."""

    spoken_key = "agentcheck_spoken"

    def __init__(self, app, **kw):
        super().__init__(app, name="agentcheck", **kw)
        panel = Panel(padding=[60, 12], spacing=8)
        panel.add_widget(Words(self.t("agentcheck_title"), size=34, bold=True, size_hint_y=0.1))
        panel.add_widget(Words(self.t("agentcheck_body"), size=22, size_hint_y=0.1))
        middle = BoxLayout(spacing=24, size_hint_y=0.58)
        card = BoxLayout(orientation="vertical", size_hint_x=0.45)
        self.portrait = Image(size_hint_y=0.7, fit_mode="contain")
        self.who = Words("", size=26, bold=True, size_hint_y=0.3)
        card.add_widget(self.portrait)
        card.add_widget(self.who)
        middle.add_widget(card)
        right = BoxLayout(orientation="vertical", spacing=6)
        self.pin = Words("", size=30, size_hint_y=0.15)
        self.keypad = Keypad(limit=PIN_LIMIT, delete=self.t("delete"), clear=self.t("clear"), size_hint_y=0.85)
        self.keypad.bind(typed=lambda *_: self._typed())
        right.add_widget(self.pin)
        right.add_widget(self.keypad)
        middle.add_widget(right)
        panel.add_widget(middle)
        self.error = Words("", size=24, color=RED, size_hint_y=0.08)
        panel.add_widget(self.error)
        self.confirm = BigButton(self.t("agentcheck_confirm"), "agentcheck-confirm", on_press=self._confirm,
                                 color=GREEN, size=30, size_hint=(0.5, 0.12), pos_hint={"center_x": 0.5})  # fmt: skip
        panel.add_widget(self.confirm)
        self.add_widget(panel)

    def enter(self, state: FlowState | None) -> None:
        self.keypad.typed = ""
        self.error.text = ""
        card = self.app.driver.card() if self.app.driver else None
        self.portrait.texture = None
        if card is not None:
            self.who.text = f"{card.name}\n{card.id_number}"
            if card.portrait_jpeg:
                image = cv2.imdecode(np.frombuffer(card.portrait_jpeg, np.uint8), cv2.IMREAD_COLOR)
                if image is not None:
                    self.portrait.texture = bgr_texture(image, None)
        self._typed()

    def _typed(self) -> None:
        self.pin.text = f"{self.t('agent_pin')}: {'●' * len(self.keypad.typed)}"
        self.confirm.disabled = len(self.keypad.typed) < 6

    def _confirm(self) -> None:
        if self.confirm.disabled:
            return
        self.confirm.disabled = True
        pin, self.keypad.typed = self.keypad.typed, ""
        self.app.driver_call("confirm_by_agent", pin)

    def refresh(self, state: FlowState) -> None:
        if state.error is not None:
            self.error.text = state.error.text(self.app.language)
        self._typed()
