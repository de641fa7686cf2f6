"""Offer engine: limit, term and rate from the catalogue and a credit band, and the full
equal-instalment (等额本息) repayment schedule, exact to the fen.

Rounding rule: the level payment is rounded half-up to the fen; each month's interest is the
outstanding balance times the monthly rate, rounded half-up to the fen; the principal part is the
payment minus the interest; the last instalment repays the remaining balance exactly. So the
principal parts sum to the amount lent and the payments sum to principal + interest exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from kiosk_config.schema import Band, Catalogue
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.steps import FormAnswers

FEN = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")


def to_fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Instalment:
    month: int
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance_after: Decimal


@dataclass(frozen=True)
class Offer:
    band: str
    purpose: str
    green: bool
    good_customer: bool
    limit: int  # the most this applicant may borrow, in yuan
    amount: Decimal
    term_months: int
    annual_rate: Decimal  # nominal yearly rate the schedule is built on
    apr: Decimal  # annualised IRR of the cash flows (年化利率, IRR method)
    schedule: tuple[Instalment, ...]

    @property
    def monthly_payment(self) -> Decimal:
        return self.schedule[0].payment

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.schedule), Decimal(0))

    @property
    def total_repayment(self) -> Decimal:
        return sum((i.payment for i in self.schedule), Decimal(0))

    def as_json(self) -> dict:
        return {
            "band": self.band,
            "purpose": self.purpose,
            "green": self.green,
            "good_customer": self.good_customer,
            "limit": self.limit,
            "amount": str(self.amount),
            "term_months": self.term_months,
            "annual_rate": str(self.annual_rate),
            "apr": str(self.apr),
            "monthly_payment": str(self.monthly_payment),
            "total_interest": str(self.total_interest),
            "total_repayment": str(self.total_repayment),
            "schedule": [
                {
                    "month": i.month,
                    "payment": str(i.payment),
                    "principal": str(i.principal),
                    "interest": str(i.interest),
                    "balance_after": str(i.balance_after),
                }
                for i in self.schedule
            ],
        }


class OfferRefused(ReasonError):
    """A request outside what the catalogue allows; `allowed` says what is."""

    def __init__(self, reason: Reason, allowed: dict):
        super().__init__(reason)
        self.allowed = allowed


def equal_instalment_schedule(principal: Decimal, annual_rate: Decimal, months: int) -> tuple[Instalment, ...]:
    """Level monthly payments (等额本息) for `principal` at `annual_rate` over `months`."""
    if principal <= 0 or months <= 0 or annual_rate < 0:
        raise ValueError("principal and months must be positive and the rate not negative")
    with localcontext() as ctx:
        ctx.prec = 40
        r = annual_rate / 12
        if r == 0:
            level = to_fen(principal / months)
        else:
            growth = (1 + r) ** months
            level = to_fen(principal * r * growth / (growth - 1))
        balance = principal
        rows = []
        for month in range(1, months + 1):
            interest = to_fen(balance * r)
            part = balance if month == months else level - interest
            balance -= part
            rows.append(Instalment(month, part + interest, part, interest, balance))
    return tuple(rows)


def annualised_irr(principal: Decimal, payments: list[Decimal]) -> Decimal:
    """12 times the monthly internal rate of return, to 4 decimal places (bisection)."""
    with localcontext() as ctx:
        ctx.prec = 40

        def npv(rate: Decimal) -> Decimal:
            total = -principal
            factor = Decimal(1)
            for payment in payments:
                factor /= 1 + rate
                total += payment * factor
            return total

        low, high = Decimal(0), Decimal(1)
        for _ in range(100):
            mid = (low + high) / 2
            if npv(mid) > 0:
                low = mid
            else:
                high = mid
        return (low * 12).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def band_for_score(catalogue: Catalogue, credit_score: int) -> Band | None:
    """The best band whose min_score the credit score reaches, or None (no offer)."""
    return next((b for b in catalogue.bands if credit_score >= b.min_score), None)


def limit_for(catalogue: Catalogue, band: Band, *, green: bool) -> int:
    limit = Decimal(band.max_limit)
    if green:
        limit *= 1 + catalogue.green_limit_boost
    step = catalogue.amount_step
    return min(catalogue.max_line, int(limit) // step * step)


def rate_for(catalogue: Catalogue, band: Band, *, green: bool) -> Decimal:
    rate = catalogue.base_annual_rate
    if band.good_customer:
        rate *= 1 - catalogue.good_customer_discount
    if green:
        rate *= 1 - catalogue.green_rate_discount
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def check_request(catalogue: Catalogue, *, amount: Decimal, term_months: int, purpose: str) -> None:
    """Refuse a request the product never allows (before any score is known)."""
    if catalogue.purpose(purpose) is None:
        raise OfferRefused(
            Reason("purpose_unknown", purpose=repr(purpose)),
            {"purposes": [p.code for p in catalogue.purposes]},
        )
    if term_months not in catalogue.terms:
        terms = "/".join(str(t) for t in catalogue.terms)
        raise OfferRefused(
            Reason("term_not_offered", terms=terms),
            {"terms": list(catalogue.terms)},
        )
    _check_amount(catalogue, amount, catalogue.max_line, "line")


def _check_amount(catalogue: Catalogue, amount: Decimal, limit: int, what: str) -> None:
    allowed = {"min": catalogue.min_line, "max": limit, "step": catalogue.amount_step}
    if amount < catalogue.min_line or amount > limit:
        raise OfferRefused(
            Reason(f"amount_outside_{what}", key="amount_outside", low=catalogue.min_line, high=limit),
            allowed,
        )
    if amount % catalogue.amount_step:
        raise OfferRefused(
            Reason("amount_step", step=catalogue.amount_step),
            allowed,
        )


def make_offer(catalogue: Catalogue, *, credit_score: int, amount: Decimal, term_months: int, purpose: str) -> Offer:
    """The offer for this request, or OfferRefused saying what range is allowed."""
    amount = Decimal(amount)
    check_request(catalogue, amount=amount, term_months=term_months, purpose=purpose)
    band = band_for_score(catalogue, credit_score)
    if band is None:
        raise OfferRefused(
            Reason("no_band"),
            {"min_score": catalogue.bands[-1].min_score},
        )
    green = catalogue.purpose(purpose).green  # type: ignore[union-attr]  # checked above
    limit = limit_for(catalogue, band, green=green)
    _check_amount(catalogue, amount, limit, "limit")
    rate = rate_for(catalogue, band, green=green)
    schedule = equal_instalment_schedule(amount, rate, term_months)
    return Offer(
        band=band.name,
        purpose=purpose,
        green=green,
        good_customer=band.good_customer,
        limit=limit,
        amount=amount,
        term_months=term_months,
        annual_rate=rate,
        apr=annualised_irr(amount, [i.payment for i in schedule]),
        schedule=schedule,
    )


def offer_within_limit(catalogue: Catalogue, credit_score: int, form: FormAnswers) -> Offer | None:
    """The offer for an approved application: the amount asked for, cut down to the band's limit
    if it is above it (green purchases have the higher limit). None if no band fits the score."""
    band = band_for_score(catalogue, credit_score)
    if band is None:
        return None
    green = catalogue.purpose(form.purpose).green  # type: ignore[union-attr]  # the form was checked
    amount = min(Decimal(form.amount), Decimal(limit_for(catalogue, band, green=green)))
    return make_offer(
        catalogue, credit_score=credit_score, amount=amount, term_months=form.term_months, purpose=form.purpose
    )
