from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal_app.core.offer import (
    OfferRefused,
    annualised_irr,
    equal_instalment_schedule,
    make_offer,
)


def test_textbook_schedule_10000_at_12_percent_over_12_months(config):
    # 10,000 at 1% a month over 12 months: the level payment is 888.49 (annuity tables).
    schedule = equal_instalment_schedule(Decimal(10000), Decimal("0.12"), 12)
    assert [r.payment for r in schedule[:11]] == [Decimal("888.49")] * 11
    assert schedule[0].interest == Decimal("100.00") and schedule[0].principal == Decimal("788.49")
    assert schedule[-1].balance_after == Decimal("0.00")
    assert sum(r.principal for r in schedule) == Decimal(10000)
    assert sum(r.payment for r in schedule) == Decimal(10000) + sum(r.interest for r in schedule)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=50, max_value=1000).map(lambda n: Decimal(n * 100)),
    rate=st.decimals(min_value=Decimal("0"), max_value=Decimal("0.24"), places=4),
    months=st.sampled_from([3, 6, 9, 12]),
)
def test_schedule_is_fen_exact_for_any_request(amount, rate, months):
    schedule = equal_instalment_schedule(amount, rate, months)
    assert len(schedule) == months
    assert sum(r.principal for r in schedule) == amount
    total_interest = sum(r.interest for r in schedule)
    assert sum(r.payment for r in schedule) == amount + total_interest
    for row in schedule:
        assert row.payment == row.principal + row.interest
        for value in (row.payment, row.principal, row.interest, row.balance_after):
            assert value == value.quantize(Decimal("0.01"))
    # the last instalment differs from the level payment by rounding only
    assert abs(schedule[-1].payment - schedule[0].payment) <= Decimal("0.01") * months
    balances = [r.balance_after for r in schedule]
    assert balances == sorted(balances, reverse=True) and balances[-1] == 0


def test_irr_of_a_level_schedule_is_its_rate():
    schedule = equal_instalment_schedule(Decimal(20000), Decimal("0.18"), 12)
    assert annualised_irr(Decimal(20000), [r.payment for r in schedule]) == Decimal("0.1800")


def test_good_customers_pay_the_base_rate_less_15_percent(config):
    good = make_offer(config.catalogue, credit_score=720, amount=Decimal(10000), term_months=6, purpose="electronics")
    plain = make_offer(config.catalogue, credit_score=660, amount=Decimal(10000), term_months=6, purpose="electronics")
    assert plain.annual_rate == Decimal("0.1800")
    assert good.annual_rate == Decimal("0.1530") and good.good_customer
    assert good.total_interest < plain.total_interest
    assert good.apr == good.annual_rate


def test_green_purchases_get_the_higher_limit_and_a_lower_rate(config):
    normal = make_offer(config.catalogue, credit_score=610, amount=Decimal(8000), term_months=12, purpose="appliances")
    green = make_offer(
        config.catalogue, credit_score=610, amount=Decimal(8000), term_months=12, purpose="green_appliance"
    )
    assert (normal.limit, green.limit) == (10000, 15000)
    assert green.green and green.annual_rate < normal.annual_rate
    # the boost never passes the product's maximum line
    top = make_offer(config.catalogue, credit_score=900, amount=Decimal(90000), term_months=12, purpose="green_ev")
    assert top.limit == 90000
    catalogue = config.catalogue.model_copy(update={"green_limit_boost": Decimal("1")})
    assert (
        make_offer(catalogue, credit_score=900, amount=Decimal(5000), term_months=3, purpose="green_ev").limit == 100000
    )


@pytest.mark.parametrize(
    ("kwargs", "code", "allowed"),
    [
        ({"amount": Decimal(4900)}, "amount_outside_line", {"min": 5000, "max": 100000, "step": 100}),
        ({"amount": Decimal(100100)}, "amount_outside_line", {"min": 5000, "max": 100000, "step": 100}),
        ({"amount": Decimal(40000)}, "amount_outside_limit", {"min": 5000, "max": 30000, "step": 100}),
        ({"amount": Decimal("10050")}, "amount_step", {"min": 5000, "max": 100000, "step": 100}),
        ({"term_months": 24}, "term_not_offered", {"terms": [3, 6, 9, 12]}),
        ({"purpose": "gambling"}, "purpose_unknown", None),
        ({"credit_score": 100}, "no_band", {"min_score": 600}),
    ],
)
def test_out_of_range_requests_are_refused_with_the_allowed_range(config, kwargs, code, allowed):
    request = {"credit_score": 660, "amount": Decimal(10000), "term_months": 6, "purpose": "electronics", **kwargs}
    with pytest.raises(OfferRefused) as refused:
        make_offer(config.catalogue, **request)
    assert refused.value.code == code
    if allowed is not None:
        assert refused.value.allowed == allowed
    assert refused.value.reason.zh and refused.value.reason.en
