"""The form as a person at the kiosk answers it: every answer the model needs as a few big
choices (no typing), each with the value the form records and its words in the catalogue's
`[choice]` table. A band of income or savings records a value inside the band. The screens
draw these; the flow checks the answers (core/form.py) whatever drew them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kiosk_config.schema import Catalogue
from terminal_app.core.steps import Assets, Employment, FormAnswers, Housing, RepaymentHistory


@dataclass(frozen=True)
class Choice:
    value: object
    key: str  # its words: catalogue table "choice"


@dataclass(frozen=True)
class Question:
    field: str  # FormAnswers' field
    key: str  # its words: catalogue table "choice"
    choices: tuple[Choice, ...]


def _enum(field: str, kind: type) -> Question:
    return Question(field, field, tuple(Choice(member, f"{field}_{member.value}") for member in kind))


def _bands(field: str, values: tuple[int, ...]) -> Question:
    return Question(field, field, tuple(Choice(value, f"{field}_{value}") for value in values))


# Asked in this order, a few to a page.
ABOUT_YOU: tuple[Question, ...] = (
    _enum("employment", Employment),
    _enum("housing", Housing),
    _bands("monthly_income", (1500, 3500, 6500, 10000, 15000)),  # under 2,000; 2-5,000; 5-8,000; 8-12,000; over
    _bands("years_employed", (0, 2, 4, 7, 12)),  # under 1; 1-3; 3-5; 5-10; over 10
    _bands("dependants", (0, 1, 2, 3, 4)),  # the last is "4 or more"
    _bands("existing_credits", (0, 1, 2, 3)),  # the last is "3 or more"
    _bands("savings", (0, 5000, 30000, 80000)),  # none; under 10,000; 10-50,000; over 50,000
    _enum("repayment_history", RepaymentHistory),
    _enum("assets", Assets),
)

QUICK_AMOUNTS = (5000, 10000, 20000, 30000, 50000, 100000)


def quick_amounts(catalogue: Catalogue) -> list[int]:
    """The amounts offered as one-touch buttons: those the catalogue lends."""
    return [
        a for a in QUICK_AMOUNTS if catalogue.min_line <= a <= catalogue.max_line and a % catalogue.amount_step == 0
    ]


def snap_amount(catalogue: Catalogue, value: float) -> int:
    """A slider's position as an amount the catalogue lends (its step, within its line)."""
    step = catalogue.amount_step
    amount = round(value / step) * step
    return max(catalogue.min_line, min(catalogue.max_line, amount))


def green_purposes(catalogue: Catalogue) -> set[str]:
    return {p.code for p in catalogue.purposes if p.green}


def answers(picked: dict[str, object]) -> FormAnswers:
    """The form from what was picked on the screens (KeyError naming a question not answered)."""
    return FormAnswers(
        amount=Decimal(int(picked["amount"])),  # type: ignore[call-overload]
        term_months=int(picked["term_months"]),  # type: ignore[call-overload]
        purpose=str(picked["purpose"]),
        phone=str(picked["phone"]),
        **{q.field: picked[q.field] for q in ABOUT_YOU},  # type: ignore[arg-type]
    )
