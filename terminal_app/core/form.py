"""Checking the application form against the product: the catalogue's purposes, terms and amounts,
and a mobile number that can be reached. The flow and `kiosk score` both check with this."""

from __future__ import annotations

from kiosk_config.schema import Catalogue
from terminal_app.core.offer import OfferRefused, check_request
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.steps import FormAnswers

# Which form field each refusal of check_request is about.
_FIELD_OF_CODE = {"purpose_unknown": "purpose", "term_not_offered": "term_months"}


class FormProblem(ReasonError):
    """One answer the form cannot take; `field` names it."""

    def __init__(self, reason: Reason, field: str):
        super().__init__(reason)
        self.field = field


def check_form(catalogue: Catalogue, answers: FormAnswers) -> None:
    try:
        check_request(catalogue, amount=answers.amount, term_months=answers.term_months, purpose=answers.purpose)
    except OfferRefused as refused:
        raise FormProblem(refused.reason, _FIELD_OF_CODE.get(refused.reason.code, "amount")) from None
    if (problem := phone_problem(answers.phone)) is not None:
        raise FormProblem(problem, "phone")


def phone_entry_problem(typed: str) -> Reason | None:
    """What to tell someone typing a mobile number: nothing while `typed` can still become one
    (empty, or a start of 1 and fewer than 11 digits), else what `phone_problem` says."""
    if typed == "" or (typed.isascii() and typed.isdigit() and typed.startswith("1") and len(typed) < 11):
        return None
    return phone_problem(typed)


def phone_problem(phone: str) -> Reason | None:
    """Why `phone` is not a mainland mobile number (11 digits starting with 1), or None."""
    if phone.isascii() and phone.isdigit() and len(phone) == 11 and phone.startswith("1"):
        return None
    return Reason("phone_format")
