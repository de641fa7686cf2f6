"""The form, a few answers to a page and no typing: the amount by slider and one-touch amounts,
the term as big buttons, the purpose as tiles (green ones marked), the phone number on a keypad,
then the questions about the applicant as big choices (core/form_choices.py). "Next" waits for
the page's answers; the flow checks the whole form when it is handed in."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.slider import Slider

from terminal_app.core import form_choices
from terminal_app.core.flow import FlowState
from terminal_app.core.form import phone_entry_problem, phone_problem
from terminal_app.ui.screens.base import KioskScreen
from terminal_app.ui.widgets import BLUE, GREEN, GREY, RED, BigButton, Choice, Keypad, Panel, Words

QUESTIONS_A_PAGE = 3


def _yuan(amount: int) -> str:
    return f"{amount:,}"


class FormScreen(KioskScreen):  # each page speaks its own line

    def __init__(self, app, **kw):
        super().__init__(app, name="form", **kw)
        self.catalogue = app.kiosk.config.catalogue
        self.picked: dict[str, object] = {}
        about = form_choices.ABOUT_YOU
        builders = [self._loan_page, self._purpose_page, self._phone_page] + [
            (lambda page, qs=about[i : i + QUESTIONS_A_PAGE]: self._questions_page(page, qs))
            for i in range(0, len(about), QUESTIONS_A_PAGE)
        ]
        self.spoken = ["form_loan_spoken", "purpose_spoken", "phone_spoken", "about_spoken"]
        self.needs = [("amount", "term_months"), ("purpose",), ("phone",)] + [
            tuple(q.field for q in about[i : i + QUESTIONS_A_PAGE]) for i in range(0, len(about), QUESTIONS_A_PAGE)
        ]
        self.page = 0
        self.amount_label: Words | None = None
        self._resetting = False
        self.pages = []  # built once: a page shown is swapped in, not made (that took up to 150 ms)
        for build in builders:
            page = BoxLayout(orientation="vertical", spacing=10)
            build(page)
            self.pages.append(page)
        outer = Panel(padding=[40, 8], spacing=8)
        self.body = BoxLayout(orientation="vertical", spacing=10, size_hint_y=0.8)
        self.error = Words("", size=24, color=RED, size_hint_y=0.06)
        bottom = BoxLayout(spacing=24, size_hint_y=0.12)
        self.back = BigButton(self.t("back"), "form-back", on_press=self._back, color=GREY, size=28, size_hint_x=0.25)
        self.page_label = Words("", size=20, size_hint_x=0.5)
        self.next = BigButton(self.t("next"), "form-next", on_press=self._next, color=GREEN, size=30,
                              size_hint_x=0.25)  # fmt: skip
        for widget in (self.back, self.page_label, self.next):
            bottom.add_widget(widget)
        for widget in (self.body, self.error, bottom):
            outer.add_widget(widget)
        self.add_widget(outer)

    def enter(self, state: FlowState | None) -> None:
        """A new applicant's form: nothing picked."""
        self._resetting = True
        self.picked = {}
        for page in self.pages:
            for widget in page.walk():
                if isinstance(widget, Choice):
                    widget.state = "normal"
        self.slider.value = self.catalogue.min_line
        self.amount_label.text = ""
        self.keypad.typed = ""
        self._resetting = False
        self._show(0)

    def refresh(self, state: FlowState) -> None:
        if state.error is not None:
            self.error.text = state.error.text(self.app.language)
        self._update_next()

    # --- pages -------------------------------------------------------------------------------

    def _show(self, page: int) -> None:
        self.page = page
        self.body.clear_widgets()
        self.error.text = ""
        self.body.add_widget(self.pages[page])
        if page < len(self.spoken) and self.spoken[page]:
            self.app.say_key(self.spoken[page])
        self.page_label.text = self.t("page", page=page + 1, pages=len(self.pages))
        self.back.disabled = page == 0
        self.back.opacity = 0 if page == 0 else 1
        self._update_next()

    def _update_next(self) -> None:
        self.next.disabled = any(name not in self.picked for name in self.needs[self.page])

    def _pick(self, name: str, value: object) -> None:
        self.picked[name] = value
        self._update_next()

    def _choices(self, name: str, options: list[tuple[object, str, str]], cols: int, size: float = 26) -> GridLayout:
        grid = GridLayout(cols=cols, spacing=12)
        for value, text, mark in options:
            grid.add_widget(Choice(text, f"{name}-{value}", value, f"form-{name}",
                                   on_pick=lambda v, n=name: self._pick(n, v), size=size, mark=mark))  # fmt: skip
        return grid

    def _loan_page(self, page: BoxLayout) -> None:
        catalogue = self.catalogue
        page.add_widget(Words(self.t("form_loan_title"), size=34, bold=True, size_hint_y=0.12))
        self.amount_label = Words("", size=48, bold=True, color=BLUE, size_hint_y=0.16)
        page.add_widget(self.amount_label)
        self.slider = Slider(min=catalogue.min_line, max=catalogue.max_line, step=catalogue.amount_step,
                             value=catalogue.min_line, size_hint_y=0.12, cursor_size=(56, 56))  # fmt: skip
        self.slider.bind(value=lambda _, v: self._slid(form_choices.snap_amount(catalogue, v)))
        page.add_widget(self.slider)
        picks = [(a, _yuan(a), "") for a in form_choices.quick_amounts(catalogue)]
        page.add_widget(self._amount_buttons(picks))
        page.add_widget(Words(self.t("term_title"), size=28, bold=True, size_hint_y=0.1))
        terms = [(n, self.t("term_n", n=n), "") for n in catalogue.terms]
        grid = self._choices("term_months", terms, cols=len(terms), size=32)
        grid.size_hint_y = 0.2
        page.add_widget(grid)

    def _slid(self, amount: int) -> None:
        if not self._resetting:
            self._set_amount(amount, from_slider=True)

    def _amount_buttons(self, picks: list[tuple[int, str, str]]) -> GridLayout:
        grid = GridLayout(cols=len(picks), spacing=12, size_hint_y=0.16)
        for value, text, _ in picks:
            grid.add_widget(BigButton(text, f"amount-{value}", on_press=lambda v=value: self._set_amount(v), size=26))
        return grid

    def _set_amount(self, amount: int, from_slider: bool = False) -> None:
        self.picked["amount"] = amount
        assert self.amount_label is not None
        self.amount_label.text = self.t("amount_value", amount=_yuan(amount))
        if not from_slider and self.slider.value != amount:
            self.slider.value = amount
        self._update_next()

    def _purpose_page(self, page: BoxLayout) -> None:
        page.add_widget(Words(self.t("purpose_title"), size=34, bold=True, size_hint_y=0.15))
        language = self.app.language
        options = [(p.code, p.zh if language == "zh" else p.en, self.t("green") if p.green else "")
                   for p in self.catalogue.purposes]  # fmt: skip
        grid = self._choices("purpose", options, cols=3, size=30)
        grid.size_hint_y = 0.85
        page.add_widget(grid)

    def _phone_page(self, page: BoxLayout) -> None:
        page.add_widget(Words(self.t("phone_title"), size=34, bold=True, size_hint_y=0.12))
        self.phone_label = Words("", size=48, bold=True, color=BLUE, size_hint_y=0.14)
        self.phone_note = Words("", size=22, color=RED, size_hint_y=0.08)
        page.add_widget(self.phone_label)
        page.add_widget(self.phone_note)
        self.keypad = Keypad(limit=11, delete=self.t("delete"), clear=self.t("clear"), size_hint=(0.5, 0.66),
                             pos_hint={"center_x": 0.5})  # fmt: skip
        self.keypad.bind(typed=lambda _, typed: self._typed_phone(typed))
        page.add_widget(self.keypad)

    def _typed_phone(self, typed: str) -> None:
        self.phone_label.text = " ".join((typed[:3], typed[3:7], typed[7:])).strip()
        if phone_problem(typed) is None:
            self.picked["phone"] = typed
        else:
            self.picked.pop("phone", None)
        problem = phone_entry_problem(typed)
        self.phone_note.text = problem.text(self.app.language) if problem else ""
        self._update_next()

    def _questions_page(self, page: BoxLayout, questions: tuple[form_choices.Question, ...]) -> None:
        for question in questions:
            page.add_widget(Words(self.app.words("choice", question.key), size=26, bold=True, halign="left",
                                       size_hint_y=0.1))  # fmt: skip
            options = [(c.value, self.app.words("choice", c.key), "") for c in question.choices]
            grid = self._choices(question.field, options, cols=len(options), size=22)
            grid.size_hint_y = 0.2
            page.add_widget(grid)

    # --- moving on ---------------------------------------------------------------------------

    def _back(self) -> None:
        if self.page > 0:
            self._show(self.page - 1)

    def _next(self) -> None:
        if self.page < len(self.pages) - 1:
            self._show(self.page + 1)
            return
        self.next.disabled = True  # one hand-in; the flow's answer moves on, or refresh() re-enables it
        self.app.driver_call("fill_form", form_choices.answers(self.picked))
