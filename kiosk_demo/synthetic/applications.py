"""Synthetic application forms for tests, the demo and the benchmarks, drawn with a seeded RNG
from the catalogue in force. Made-up answers only; see synthetic_people for the applicants."""

from __future__ import annotations

import random
from decimal import Decimal

from kiosk_config.schema import Catalogue
from terminal_app.core.steps import Assets, Employment, FormAnswers, Housing, RepaymentHistory


def make_form(rng: random.Random, catalogue: Catalogue, phone: str) -> FormAnswers:
    """One plausible form: mostly modest amounts, now and then a large one."""
    top = catalogue.max_line if rng.random() < 0.15 else 40_000
    employment = rng.choices(list(Employment), weights=(30, 20, 30, 5, 5, 10))[0]
    return FormAnswers(
        amount=Decimal(rng.randrange(catalogue.min_line, top + 1, catalogue.amount_step)),
        term_months=rng.choice(catalogue.terms),
        purpose=rng.choice(catalogue.purposes).code,
        phone=phone,
        employment=employment,
        housing=rng.choices(list(Housing), weights=(60, 20, 20))[0],
        monthly_income=0 if employment is Employment.UNEMPLOYED else rng.randrange(1500, 15000, 100),
        dependants=rng.randrange(0, 5),
        existing_credits=rng.choices(range(4), weights=(50, 30, 15, 5))[0],
        years_employed=rng.randrange(0, 25),
        savings=rng.choice((0, 500, 2000, 5000, 10000, 30000)),
        repayment_history=rng.choices(list(RepaymentHistory), weights=(40, 50, 10))[0],
        assets=rng.choices(list(Assets), weights=(50, 20, 10, 20))[0],
    )
