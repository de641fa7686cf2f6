"""The form as the screens offer it: every answer a person can pick makes a form the flow takes,
the one-touch amounts are ones the catalogue lends, and a slider lands on a lendable amount."""

from __future__ import annotations

import pytest

from kiosk_config import load_config
from terminal_app.core import form_choices
from terminal_app.core import message_catalogue as mc
from terminal_app.core.form import check_form

pytestmark = pytest.mark.unit


def test_every_choice_makes_a_form_the_flow_takes_and_has_its_words():
    catalogue = load_config().catalogue
    for question in form_choices.ABOUT_YOU:
        assert mc.words("zh", "choice", question.key) and mc.words("en", "choice", question.key)
        for choice in question.choices:
            picked = {q.field: q.choices[0].value for q in form_choices.ABOUT_YOU} | {question.field: choice.value}
            picked |= {"amount": catalogue.min_line, "term_months": catalogue.terms[0],
                       "purpose": catalogue.purposes[0].code, "phone": "13800000000"}  # fmt: skip
            check_form(catalogue, form_choices.answers(picked))
            assert mc.words("zh", "choice", choice.key) != choice.key


def test_amounts_offered_and_slid_to_are_lendable():
    catalogue = load_config().catalogue
    picks = form_choices.quick_amounts(catalogue)
    assert picks and all(catalogue.min_line <= a <= catalogue.max_line for a in picks)
    for value in (0, 4_999, 5_049.9, 23_456, 99_999, 250_000):
        amount = form_choices.snap_amount(catalogue, value)
        assert amount % catalogue.amount_step == 0 and catalogue.min_line <= amount <= catalogue.max_line


def test_a_phone_number_being_typed_is_told_off_only_once_it_cannot_become_one():
    from terminal_app.core.form import phone_entry_problem

    assert [phone_entry_problem(t) for t in ("", "1", "138", "1380013800")] == [None] * 4
    assert all(phone_entry_problem(t).code == "phone_format" for t in ("2", "13800138000x", "0138"))
    assert phone_entry_problem("13800138000") is None


def test_a_form_with_a_question_unanswered_names_it():
    with pytest.raises(KeyError, match="phone"):
        form_choices.answers({"amount": 5000, "term_months": 3, "purpose": "education"})
