"""On-device risk scoring: the embedded bundle, the form-to-feature mapping, the fraud score's
signals (blocklist, velocity, liveness, time), decisions with reasons, and a refused bundle."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk_demo.synthetic.applications import make_form
from kiosk_demo.synthetic.people import corrupt_check_character
from ondevice_models.runtime import BundleError, ModelBundle
from sync.central.blocklist import make_blocklist_files
from sync.update import build_update
from terminal_app.core.decision import Outcome, decide_with_offer
from terminal_app.core.scoring import ScoringRefused, ScoringRequest, parse_request
from terminal_app.core.steps import Assets, Employment, FormAnswers, Housing, RepaymentHistory

from .conftest import id_number

AFTERNOON = datetime(2026, 11, 25, 14, 30)
NUMBER = id_number(seed=3)
STRONG = FormAnswers(
    amount=Decimal(8000), term_months=6, purpose="electronics", phone="13800138000",
    employment=Employment.EMPLOYED, housing=Housing.OWN, monthly_income=9000, dependants=1, existing_credits=0,
    years_employed=9, savings=20000, repayment_history=RepaymentHistory.ON_TIME, assets=Assets.REAL_ESTATE,
)  # fmt: skip
WEAK = dataclasses.replace(
    STRONG, amount=Decimal(90000), term_months=12, purpose="education", employment=Employment.UNEMPLOYED,
    housing=Housing.FAMILY, monthly_income=1500, savings=0, repayment_history=RepaymentHistory.LATE,
    assets=Assets.NONE, existing_credits=3,
)  # fmt: skip

# A catalogue whose only purpose the embedded model has no mapping for.
FARM_CATALOGUE = (
    "[catalogue]\nmin_line = 5000\nmax_line = 100000\namount_step = 100\nterms = [3, 6, 9, 12]\n"
    'base_annual_rate = "0.18"\ngood_customer_discount = "0.15"\ngreen_limit_boost = "0.5"\n'
    'green_rate_discount = "0.05"\n'
    '[[catalogue.purposes]]\ncode = "farm_machinery"\nzh = "农机"\nen = "Farm machinery"\n'
    '[[catalogue.bands]]\nname = "A"\nmin_score = 600\nmax_limit = 30000\n'
).encode()


def request(form: FormAnswers = STRONG, **changes) -> ScoringRequest:
    base = {
        "id_number": NUMBER,
        "form": form,
        "liveness": {"spoof_score": 0.03, "face_match_score": 0.9, "attempts": 1},
        "local_time": AFTERNOON,
    }
    return ScoringRequest.model_validate({**base, **changes})


def bundled_files() -> dict[str, bytes]:
    root = resources.files("ondevice_models") / "bundled"
    return {name: (root / name).read_bytes() for name in ("model_card.json", "scorecard.onnx", "gbm.onnx")}


def test_the_embedded_bundle_loads_checked_and_warm():
    bundle = ModelBundle.embedded()
    assert bundle.model_version == "credit-de-1" and len(bundle.card.golden_rows) == 8
    assert [f.name for f in bundle.card.features] == list(bundle.card.form_mapping.features)
    for session in (bundle.scorecard, bundle.gbm):
        assert session.get_session_options().intra_op_num_threads == 1


def test_a_strong_application_is_approved_with_an_offer_and_a_weak_one_declined(kiosk):
    strong = kiosk.scorer.score(request(STRONG))
    weak = kiosk.scorer.score(request(WEAK))
    assert strong.credit_score >= 600 > weak.credit_score and strong.fraud_score < 100
    config = kiosk.config
    decision, offer = decide_with_offer(strong, config.risk, config.catalogue, STRONG)
    assert decision.outcome is Outcome.APPROVE and offer is not None and offer.amount == STRONG.amount
    decision, offer = decide_with_offer(weak, config.risk, config.catalogue, WEAK)
    assert decision.outcome is Outcome.DECLINE and offer is None
    assert next(r.code for r in decision.reasons) == "credit_low" and len(decision.reasons) == 3
    assert all(r.code.startswith("credit.") and r.zh and r.en for r in decision.reasons[1:])


@pytest.mark.parametrize(
    ("worse", "feature"),
    [
        ({"repayment_history": RepaymentHistory.LATE}, "credit_history"),
        ({"term_months": 12, "amount": Decimal(60000)}, "credit_amount"),
        ({"savings": 0}, "savings_account_and_bonds"),
        ({"employment": Employment.UNEMPLOYED}, "present_employment_since"),
        ({"assets": Assets.NONE}, "property"),
    ],
)
def test_a_worse_answer_never_scores_higher_and_becomes_a_reason(kiosk, worse, feature):
    better = kiosk.scorer.score(request(STRONG))
    changed = kiosk.scorer.score(request(dataclasses.replace(STRONG, **worse)))
    assert changed.credit_score < better.credit_score
    assert f"credit.{feature}" in [r.code for r in changed.credit_reasons]


def test_the_model_sees_the_mapped_values_the_card_declares():
    bundle = ModelBundle.embedded()
    from terminal_app.core.scoring import model_inputs

    result = bundle.credit(model_inputs(STRONG, datetime(1990, 3, 7).date(), AFTERNOON.date()))
    assert result.values["age_in_years"] == 36 and result.values["duration_in_month"] == 6
    assert result.values["credit_amount"] == pytest.approx(8000 / 5.5)  # CNY to the data's DM
    assert result.values["purpose"] == "radio/television" and result.values["housing"] == "own"
    assert result.values["number_of_existing_credits_at_this_bank"] == 1  # fixed, not asked


def test_blocklist_hits_decline_or_refer_with_the_fraud_reason_first(kiosk, central):
    files = make_blocklist_files([NUMBER], ["13900139000"])
    kiosk.apply_update(build_update("blocklist", 1, files, central.signing), source="usb")
    listed = kiosk.scorer.score(request())
    decision, _ = decide_with_offer(listed, kiosk.config.risk, kiosk.config.catalogue, STRONG)
    assert decision.outcome is Outcome.DECLINE
    assert [r.code for r in decision.reasons[:2]] == ["fraud_high", "fraud.blocklisted_id"]
    phone = kiosk.scorer.score(request(dataclasses.replace(STRONG, phone="13900139000"), id_number=id_number(seed=8)))
    decision, _ = decide_with_offer(phone, kiosk.config.risk, kiosk.config.catalogue, STRONG)
    assert decision.outcome is Outcome.REFER and decision.reasons[1].code == "fraud.blocklisted_phone"


def test_velocity_counts_repeats_on_this_terminal_and_keeps_no_numbers(kiosk):
    first = kiosk.scorer.score(request())
    for _ in range(3):
        again = kiosk.scorer.score(request())
    assert again.fraud_score > first.fraud_score
    assert again.details["velocity"]["same_id_24h"] == 3
    assert "fraud.same_id_recent" in [r.code for r in again.fraud_reasons]
    for seed in range(10, 13):  # one phone, three other ID numbers
        shared = kiosk.scorer.score(request(id_number=id_number(seed=seed)))
    assert shared.details["velocity"]["phone_other_ids_30d"] == 3
    assert shared.fraud_reasons[0].code == "fraud.phone_shared"
    raw = b"".join(p.read_bytes() for p in kiosk.vault.data_dir.glob("vault.sqlite*"))
    assert NUMBER.encode() not in raw and b"13800138000" not in raw


def test_a_what_if_score_is_not_counted(kiosk):
    kiosk.scorer.score(request(), record=False)
    kiosk.scorer.score(request(), record=False)
    assert kiosk.scorer.score(request()).details["velocity"]["same_id_24h"] == 0


@pytest.mark.parametrize(
    ("liveness", "changes", "signal"),
    [
        ({"spoof_score": 0.9, "face_match_score": 0.9}, {}, "fraud.spoof"),
        ({"spoof_score": 0.03, "face_match_score": 0.2}, {}, "fraud.face_mismatch"),
        ({"spoof_score": 0.03, "face_match_score": 0.9}, {"local_time": datetime(2026, 11, 25, 2, 10)}, "fraud.night"),
        ({"spoof_score": 0.03, "face_match_score": None}, {}, "fraud.face_unverified"),
    ],
)
def test_identity_and_time_signals_raise_the_fraud_score(kiosk, liveness, changes, signal):
    calm = kiosk.scorer.score(request(), record=False)
    worried = kiosk.scorer.score(request(liveness=liveness, **changes), record=False)
    assert worried.fraud_score > calm.fraud_score and worried.fraud_reasons[0].code == signal


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"id_number": corrupt_check_character(NUMBER)}, "id_number"),
        ({"form": {"amount": "200000"}}, "form.amount"),
        ({"form": {"amount": "12345"}}, "form.amount"),  # not a multiple of 100
        ({"form": {"term_months": 7}}, "form.term_months"),
        ({"form": {"purpose": "gambling"}}, "form.purpose"),
        ({"form": {"phone": "12345"}}, "form.phone"),
        ({"form": {"dependants": -1}}, "form.dependants"),
        ({"form": {"assets": "yacht"}}, "form.assets"),
        ({"liveness": {"spoof_score": 1.5, "face_match_score": 0.9}}, "liveness.spoof_score"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_malformed_or_out_of_range_input_names_the_field_and_is_not_scored(kiosk, data, field):
    base = json.loads(request().model_dump_json())
    for key, value in data.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    before = kiosk.vault.db["scorings"].count
    with pytest.raises(ScoringRefused) as refused:
        kiosk.scorer.score(parse_request(base))
    assert refused.value.problems[0].startswith(f"{field}:"), refused.value.problems
    assert kiosk.vault.db["scorings"].count == before


def test_a_purpose_the_model_has_no_mapping_for_is_refused_not_guessed(kiosk, central):
    kiosk.apply_update(build_update("config", 1, {"config.toml": FARM_CATALOGUE}, central.signing), source="usb")
    with pytest.raises(ScoringRefused) as refused:
        kiosk.scorer.score(request(dataclasses.replace(STRONG, purpose="farm_machinery")))
    assert refused.value.problems[0].startswith("form.purpose:") and "credit-de-1" in refused.value.problems[0]


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda card: card["golden_rows"][0].update(points=card["golden_rows"][0]["points"] + 1), "golden_rows[0]"),
        (lambda card: card["form_mapping"]["features"].pop("housing"), "form_mapping.features"),
        (lambda card: card["fraud"]["signals"].pop("night"), "fraud.signals"),
        (lambda card: card["features"][1].update(cuts=[30.0, 9.5, 15.5, 37.5]), "cuts must rise"),
        (lambda card: card["form_mapping"]["features"]["purpose"]["map"].update(education="lottery"), "not a category"),
    ],
)
def test_a_bundle_whose_card_and_files_disagree_is_refused(damage, named):
    files = bundled_files()
    card = json.loads(files["model_card.json"])
    damage(card)
    files["model_card.json"] = json.dumps(card).encode()
    with pytest.raises(BundleError) as refused:
        ModelBundle.from_files(files)
    assert named in str(refused.value)


def test_the_flow_scores_on_device_and_the_application_carries_scores_and_reasons(kiosk, clock, central):
    from terminal_app.core.steps import IdCardFields

    from .test_flow import CONSENT, LIVE, new_flow

    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(IdCardFields(NUMBER, "测试乙", "M", datetime(1990, 3, 7).date()))
    flow.submit_liveness(dataclasses.replace(LIVE, face_match_score=0.9))
    flow.submit_form(WEAK)
    decision = kiosk.score(flow, local_time=AFTERNOON)
    assert decision.outcome is Outcome.DECLINE
    stored = central.open_outbox(kiosk)[flow.application_id]
    assert stored["scores"]["model_version"] == "credit-de-1"
    assert stored["scores"]["credit_reasons"][0]["code"].startswith("credit.")
    assert 0 < stored["scores"]["details"]["challenger_gbm_pd"] < 1
    assert stored["decision"]["reasons"][0]["code"] == "credit_low"


def test_synthetic_forms_all_score_and_spread_over_the_decisions(kiosk):
    rng = random.Random(5)
    outcomes, scores = set(), []
    for seed in range(40):
        form = make_form(rng, kiosk.config.catalogue, f"1380013{seed:04d}")
        result = kiosk.scorer.score(request(form, id_number=id_number(seed=100 + seed)), record=False)
        scores.append(result.credit_score)
        outcomes.add(decide_with_offer(result, kiosk.config.risk, kiosk.config.catalogue, form)[0].outcome)
    assert {Outcome.APPROVE, Outcome.REFER} <= outcomes and max(scores) - min(scores) > 100


def test_a_model_update_can_be_rolled_back_to_the_bundle_before_it(kiosk, central):
    files = bundled_files()
    for version, name in ((1, "credit-de-1a"), (2, "credit-de-1b")):
        card = json.loads(files["model_card.json"])
        changed = {**files, "model_card.json": json.dumps({**card, "model_version": name}).encode()}
        kiosk.apply_update(build_update("model", version, changed, central.signing), source="usb")
    assert kiosk.scorer.score(request(), record=False).model_version == "credit-de-1b"
    kiosk.updates.rollback("model")
    assert kiosk.scorer.score(request(), record=False).model_version == "credit-de-1a"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.integers(50, 1000).map(lambda h: Decimal(h * 100)),
    term=st.sampled_from([3, 6, 9, 12]),
    income=st.integers(0, 200_000),
    years=st.integers(0, 80),
    savings=st.integers(0, 100_000_000),
    credits=st.integers(0, 50),
    spoof=st.floats(0, 1),
    match=st.none() | st.floats(0, 1),
    hour=st.integers(0, 23),
    edits=st.integers(0, 1000),
)
def test_any_valid_application_gets_scores_in_range_and_a_decision(
    kiosk, amount, term, income, years, savings, credits, spoof, match, hour, edits
):
    form = dataclasses.replace(
        STRONG, amount=amount, term_months=term, monthly_income=income, years_employed=years, savings=savings,
        existing_credits=credits,
    )  # fmt: skip
    result = kiosk.scorer.score(
        request(
            form,
            liveness={"spoof_score": spoof, "face_match_score": match},
            local_time=AFTERNOON.replace(hour=hour),
            amount_edits=edits,
        ),
        record=False,
    )
    assert 0 <= result.fraud_score <= 1000 and 0 <= result.credit_score <= 1000
    decision, offer = decide_with_offer(result, kiosk.config.risk, kiosk.config.catalogue, form)
    assert (offer is not None) == (decision.outcome is Outcome.APPROVE)
    if offer is not None:
        assert offer.amount <= min(amount, offer.limit)
    else:
        assert 2 <= len(decision.reasons) <= 3 or decision.reasons[0].code == "no_band"


def test_an_application_the_model_cannot_score_is_referred_not_lost(kiosk, clock, central):
    """A config update added a purpose before a model that maps it arrived: the applicant is
    referred to a person with the reason, and the application is submitted."""
    from terminal_app.core.steps import IdCardFields

    from .test_flow import CONSENT, LIVE, new_flow

    kiosk.apply_update(build_update("config", 1, {"config.toml": FARM_CATALOGUE}, central.signing), source="usb")
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(IdCardFields(NUMBER, "测试丙", "M", datetime(1990, 3, 7).date()))
    flow.submit_liveness(LIVE)
    flow._config = kiosk.config
    flow.submit_form(dataclasses.replace(STRONG, purpose="farm_machinery"))
    decision = kiosk.score(flow)
    assert decision.outcome is Outcome.REFER and decision.reasons[0].code == "not_scored"
    assert "form.purpose" in decision.reasons[0].en
    stored = central.open_outbox(kiosk)[flow.application_id]
    assert stored["decision"]["reasons"][0]["code"] == "not_scored" and "scores" not in stored
