"""The application flow, driven step by step with explicit inputs."""

from __future__ import annotations

import base64
import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from terminal_app.core.agents import Agent, Role, hash_pin
from terminal_app.core.decision import Outcome
from terminal_app.core.flow import EndReason, FlowEnded, Step, StepRejected, WrongStep
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.reasons import Reason
from terminal_app.core.steps import (
    Assets,
    ConsentRecord,
    Employment,
    FormAnswers,
    Housing,
    IdCardFields,
    IdSource,
    LivenessResult,
    RepaymentHistory,
    ScoreResult,
)

from .conftest import TODAY, id_number

BIRTH = date(1988, 5, 20)
CONSENT = ConsentRecord(True, True, "consent-v1", "zh", 0.0)
PORTRAIT = b"\xff\xd8portrait-bytes\xff\xd9"
KEY_FRAME = b"\xff\xd8key-frame-bytes\xff\xd9"
CARD = IdCardFields(
    id_number(birth=BIRTH, sex="F"),
    "测试甲",
    "F",
    BIRTH,
    "汉",
    "湖北省恩施市某村",
    "恩施市公安局",
    portrait_jpeg=PORTRAIT,
)
LIVE = LivenessResult(
    True, 0.05, 0.91, True, (("blink", True, 900), ("turn_left", True, 1400)), key_frame_jpeg=KEY_FRAME
)
FORM = FormAnswers(
    Decimal(12000), 12, "electronics", "13800000000", Employment.FARMER, Housing.OWN, 4000, 1, 0,
    years_employed=8, savings=6000, repayment_history=RepaymentHistory.ON_TIME, assets=Assets.REAL_ESTATE,
)  # fmt: skip
GOOD = ScoreResult(fraud_score=120, credit_score=680, model_version="test-inputs")


def new_flow(kiosk: Kiosk, clock, agent=None):
    return kiosk.new_application(agent, clock=clock, wall_clock=clock, today=lambda: TODAY)


def to_scoring(flow):
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    flow.submit_liveness(LIVE)
    flow.submit_form(FORM)


def test_happy_path_reaches_receipt_and_seals_the_application_into_the_outbox(kiosk, clock, central):
    flow = new_flow(kiosk, clock)
    to_scoring(flow)
    decision = flow.submit_scores(GOOD)
    assert decision.outcome is Outcome.APPROVE and flow.step is Step.OFFER
    offer = flow.state().offer
    assert offer.band == "B" and offer.amount == Decimal(12000) and offer.annual_rate == Decimal("0.1800")
    flow.accept_offer()
    application_id = flow.confirm()
    assert flow.step is Step.RECEIPT
    flow.finish()
    assert flow.step is Step.COMPLETED and flow.end_reason is EndReason.SUBMITTED
    stored = central.open_outbox(kiosk)[application_id]
    assert stored["card"]["name"] == "测试甲" and stored["decision"]["outcome"] == "approve"
    assert stored["offer"]["total_repayment"] == str(offer.total_repayment)
    assert base64.b64decode(stored["card"]["portrait_jpeg"]) == PORTRAIT
    assert base64.b64decode(stored["liveness"]["key_frame_jpeg"]) == KEY_FRAME
    assert stored["card"]["birth_date"] == "1988-05-20" and stored["consent"]["biometrics"] is True
    assert kiosk.vault.draft_ids() == []
    raw = (kiosk.vault.data_dir / "vault.sqlite").read_bytes()
    assert "测试甲".encode() not in raw and CARD.id_number.encode() not in raw


def test_request_above_the_band_limit_gets_a_counter_offer_at_the_limit(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    flow.submit_liveness(LIVE)
    flow.submit_form(dataclasses.replace(FORM, amount=Decimal(50000), term_months=6))
    flow.submit_scores(GOOD)
    assert flow.state().offer.amount == Decimal(30000)


@pytest.mark.parametrize(
    ("scores", "outcome", "first_reason"),
    [
        (ScoreResult(800, 900, "t"), Outcome.DECLINE, "fraud_high"),
        (ScoreResult(100, 300, "t"), Outcome.DECLINE, "credit_low"),
        (ScoreResult(450, 700, "t"), Outcome.REFER, "fraud_elevated"),
        (ScoreResult(100, 560, "t"), Outcome.REFER, "credit_borderline"),
    ],
)
def test_refer_and_decline_go_straight_to_receipt_with_reasons(kiosk, clock, central, scores, outcome, first_reason):
    flow = new_flow(kiosk, clock)
    to_scoring(flow)
    decision = flow.submit_scores(scores)
    assert decision.outcome is outcome and decision.reasons[0].code == first_reason
    assert flow.step is Step.RECEIPT and flow.state().offer is None
    stored = central.open_outbox(kiosk)[flow.application_id]
    assert stored["decision"]["outcome"] == str(outcome)


@pytest.mark.parametrize("step_count", range(0, 7))
def test_cancel_at_any_step_wipes_the_draft(kiosk, clock, step_count):
    flow = new_flow(kiosk, clock)
    actions = [
        lambda: flow.give_consent(CONSENT),
        lambda: flow.submit_id(CARD),
        lambda: flow.submit_liveness(LIVE),
        lambda: flow.submit_form(FORM),
        lambda: flow.submit_scores(GOOD),
        flow.accept_offer,
    ]
    for action in actions[:step_count]:
        action()
    assert kiosk.vault.draft_ids() == [flow.session_id]
    flow.cancel()
    assert flow.step is Step.ABANDONED and flow.end_reason is EndReason.CANCELLED
    assert kiosk.vault.draft_ids() == [] and kiosk.outbox.queued_ids() == []
    assert flow.draft.card is None and flow.draft.form is None
    with pytest.raises(FlowEnded):
        flow.give_consent(CONSENT)


@pytest.mark.parametrize(
    ("setup", "step", "timeout_field"),
    [
        (0, Step.CONSENT, "consent"),
        (1, Step.ID_CAPTURE, "id_capture"),
        (2, Step.LIVENESS, "liveness"),
        (4, Step.SCORING, "scoring"),
    ],
)
def test_every_step_times_out_and_wipes(kiosk, clock, setup, step, timeout_field):
    flow = new_flow(kiosk, clock)
    for action in [
        lambda: flow.give_consent(CONSENT),
        lambda: flow.submit_id(CARD),
        lambda: flow.submit_liveness(LIVE),
        lambda: flow.submit_form(FORM),
    ][:setup]:
        action()
    assert flow.step is step
    limit = getattr(kiosk.config.timeouts, timeout_field)
    # keep touching so only the step timeout can fire, not the idle one
    while clock.now + 10 < flow._step_started + limit:
        clock.advance(10)
        if step is not Step.SCORING:
            flow.touch()
        assert flow.step is step
    clock.advance(10)
    assert flow.tick() is Step.ABANDONED
    assert flow.end_reason is EndReason.STEP_TIMEOUT
    assert kiosk.vault.draft_ids() == []


def test_the_idle_time_left_is_the_applicants_not_the_steps(kiosk, clock):
    """The screen's "are you still there?" counts the applicant's idleness, not the step's own
    limit: an applicant touching the screen near the end of a step is not asked."""
    flow = new_flow(kiosk, clock)
    idle = kiosk.config.terminal.idle_timeout_s
    assert flow.state().idle_seconds_left == idle
    for _ in range(int(kiosk.config.timeouts.consent // 10) - 1):
        clock.advance(10)
        flow.touch()
    state = flow.state()
    assert state.seconds_left <= 10 and state.idle_seconds_left == idle
    clock.advance(5)
    assert flow.state().idle_seconds_left == idle - 5


def test_idle_applicant_is_timed_out_before_the_step_limit(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    clock.advance(kiosk.config.terminal.idle_timeout_s - 1)
    assert flow.tick() is Step.ID_CAPTURE
    assert 0 < flow.seconds_left() <= 1
    clock.advance(1)
    assert flow.tick() is Step.ABANDONED and flow.end_reason is EndReason.IDLE
    assert kiosk.vault.draft_ids() == []


def test_input_after_a_silent_timeout_is_refused(kiosk, clock):
    flow = new_flow(kiosk, clock)
    clock.advance(10_000)
    with pytest.raises(FlowEnded):
        flow.give_consent(CONSENT)
    assert kiosk.vault.draft_ids() == []


def test_receipt_timeout_completes_without_losing_the_application(kiosk, clock, central):
    flow = new_flow(kiosk, clock)
    to_scoring(flow)
    flow.submit_scores(ScoreResult(100, 300, "t"))
    clock.advance(kiosk.config.timeouts.receipt + 1)
    assert flow.tick() is Step.COMPLETED
    assert list(central.open_outbox(kiosk)) == [flow.application_id]


def test_refused_consent_ends_and_wipes(kiosk, clock):
    flow = new_flow(kiosk, clock)
    with pytest.raises(StepRejected) as rejected:
        flow.give_consent(ConsentRecord(True, False, "consent-v1", "zh", 0.0))
    assert rejected.value.code == "consent_refused" and "biometrics" in rejected.value.reason.en
    assert flow.step is Step.ABANDONED and flow.end_reason is EndReason.CONSENT_REFUSED
    assert flow.state().error == rejected.value.reason  # the screen that says it ended says why


def test_a_card_read_wrong_is_read_again_until_the_face_check_or_the_tries_run_out(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    flow.retake_card()  # the applicant saw a field read wrong at the card check
    assert flow.step is Step.ID_CAPTURE and flow.draft.card is None and flow.draft.id_attempts == 1
    step, saved = kiosk.vault.load_draft(flow.session_id)
    assert step == "id_capture" and "card" not in saved  # the card read wrong is not kept
    flow.submit_id(CARD)
    with pytest.raises(StepRejected):
        flow.submit_liveness(dataclasses.replace(LIVE, passed=False))
    with pytest.raises(StepRejected) as refused:  # the face has been checked against this card
        flow.retake_card()
    assert refused.value.code == "retake_not_allowed" and flow.step is Step.LIVENESS
    last = new_flow(kiosk, clock)
    last.give_consent(CONSENT)
    for _ in range(kiosk.config.identity.max_capture_attempts - 1):
        last.submit_id(CARD)
        last.retake_card()
    last.submit_id(CARD)
    with pytest.raises(StepRejected):  # no try left to read it again with
        last.retake_card()
    assert last.step is Step.LIVENESS


def test_wrong_check_character_is_never_accepted_and_attempts_run_out(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    bad_number = CARD.id_number[:17] + ("0" if CARD.id_number[17] != "0" else "1")
    bad = IdCardFields(bad_number, CARD.name, CARD.sex, CARD.birth_date)
    for attempt in range(1, kiosk.config.identity.max_capture_attempts + 1):
        with pytest.raises(StepRejected) as rejected:
            flow.submit_id(bad)
        assert rejected.value.code == "check_character"
        expected = Step.ID_CAPTURE if attempt < kiosk.config.identity.max_capture_attempts else Step.ABANDONED
        assert flow.step is expected
    assert flow.end_reason is EndReason.ID_ATTEMPTS_USED


def test_printed_fields_that_disagree_with_the_number_are_refused(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    with pytest.raises(StepRejected) as rejected:
        flow.submit_id(IdCardFields(CARD.id_number, CARD.name, "M", CARD.birth_date))
    assert rejected.value.code == "sex_mismatch"
    assert flow.step is Step.ID_CAPTURE and flow.state().attempts_left == 2


def test_underage_applicant_ends_at_once(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    minor = date(2012, 1, 1)
    with pytest.raises(StepRejected) as rejected:
        flow.submit_id(IdCardFields(id_number(birth=minor), "测试乙", "M", minor))
    assert rejected.value.code == "age_too_low" and flow.step is Step.ABANDONED


def test_typed_card_data_needs_a_logged_in_agent(kiosk, clock):
    typed = IdCardFields(CARD.id_number, CARD.name, CARD.sex, CARD.birth_date, source=IdSource.AGENT_ENTRY)
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    with pytest.raises(StepRejected) as rejected:
        flow.submit_id(typed)
    assert rejected.value.code == "agent_required"
    kiosk.agents.replace_roster([Agent("A-7", Role.AGENT, "422801", hash_pin("135790"))])
    assisted = new_flow(kiosk, clock, kiosk.agents.login("A-7", "135790"))
    assisted.give_consent(CONSENT)
    assisted.submit_id(typed)
    assert assisted.step is Step.LIVENESS


NO_FACE = dataclasses.replace(CONSENT, biometrics=False)


def test_declining_face_checks_without_an_agent_ends_the_session_and_names_the_other_way(kiosk, clock):
    flow = new_flow(kiosk, clock)
    with pytest.raises(StepRejected) as rejected:
        flow.give_consent(NO_FACE)
    assert rejected.value.reason == Reason("consent_refused", missing="biometrics")
    assert flow.step is Step.ABANDONED and flow.end_reason is EndReason.CONSENT_REFUSED


def test_the_no_face_path_an_agent_completes_is_referred_to_a_person_whatever_the_scores(kiosk, clock, central):
    kiosk.agents.replace_roster([Agent("A-7", Role.AGENT, "422801", hash_pin("135790"))])
    agent = kiosk.agents.login("A-7", "135790")
    flow = new_flow(kiosk, clock, agent)
    flow.give_consent(NO_FACE)
    flow.submit_id(CARD)
    assert flow.step is Step.LIVENESS and flow.state().face_declined
    for refused in (lambda: flow.begin(Step.LIVENESS), lambda: flow.submit_liveness(LIVE)):
        with pytest.raises(StepRejected) as rejected:  # no face is ever processed for this applicant
            refused()
        assert rejected.value.code == "face_declined"
    flow.confirm_identity_by_agent()
    flow.submit_form(FORM)
    request = flow.scoring_request()
    assert request.liveness.face_match_score is None and request.agent_assisted
    decision = flow.submit_scores(GOOD)  # would be an approval with a face check
    assert decision.outcome is Outcome.REFER and decision.reasons[0].code == "identity_by_agent"
    assert flow.step is Step.RECEIPT and flow.draft.offer is None
    opened = central.open_outbox(kiosk)[flow.application_id]
    assert opened["identity_check"] == {"by": "agent", "agent_id": "A-7", "confirmed_at": clock()}
    assert opened["consent"]["biometrics"] is False and "liveness" not in opened
    events = [(r["event"], r["actor"]) for r in kiosk.audit.records()]
    assert ("identity_confirmed_by_agent", "agent:A-7") in events


def test_the_agent_signs_the_no_face_path_with_their_pin_counted_as_a_login_try(kiosk, clock):
    from terminal_app.core.session import ApplicantSession, EngineResult

    kiosk.agents.replace_roster([Agent("A-7", Role.AGENT, "422801", hash_pin("135790"))])
    agent = kiosk.agents.login("A-7", "135790")
    session = ApplicantSession(kiosk, None, None, agent=agent)
    session.flow = new_flow(kiosk, clock, agent)
    assert session.give_consent(NO_FACE) and session.take_card(EngineResult(CARD))
    assert not session.confirm_by_agent("999999")
    assert session.flow.state().error.key == "wrong_credentials_left" and session.flow.step is Step.LIVENESS
    session.agent = dataclasses.replace(agent, expires_at=clock())  # the agent's login ran out meanwhile
    assert not session.confirm_by_agent("135790")
    assert session.flow.state().error.code == "agent_session_ended"
    session.agent = agent
    assert session.confirm_by_agent("135790") and session.flow.step is Step.FORM
    assert [r["event"] for r in kiosk.audit.records()].count("agent_signed") == 1


UNREAD = dataclasses.replace(CARD, ethnicity="", unread=("ethnicity",))


def test_a_card_field_the_capture_could_not_read_is_picked_by_an_agent_from_its_list(kiosk, clock, central):
    alone = new_flow(kiosk, clock)
    alone.give_consent(CONSENT)
    alone.submit_id(UNREAD)
    assert alone.state().unread == ("ethnicity",)
    for refused, code in ((lambda: alone.submit_liveness(LIVE), "card_field_unread"),
                          (lambda: alone.pick_card_field("ethnicity", "汉"), "agent_required")):  # fmt: skip
        with pytest.raises(StepRejected) as rejected:
            refused()
        assert rejected.value.code == code
    kiosk.agents.replace_roster([Agent("A-7", Role.AGENT, "422801", hash_pin("135790"))])
    flow = new_flow(kiosk, clock, kiosk.agents.login("A-7", "135790"))
    flow.give_consent(CONSENT)
    flow.submit_id(UNREAD)
    for name, value in (("ethnicity", "火星"), ("name", "测试丙"), ("id_number", CARD.id_number)):
        with pytest.raises(StepRejected) as rejected:  # only from the list, only a field not read
            flow.pick_card_field(name, value)
        assert rejected.value.code == "not_pickable"
    flow.pick_card_field("ethnicity", "傈僳")
    assert flow.state().unread == () and flow.draft.card.ethnicity == "傈僳"
    flow.submit_liveness(LIVE)
    flow.submit_form(FORM)
    flow.submit_scores(GOOD)
    flow.accept_offer()
    application_id = flow.confirm()
    opened = central.open_outbox(kiosk)[application_id]
    assert opened["card"]["ethnicity"] == "傈僳" and opened["card"]["unread"] == []
    assert opened["card_fields_picked_by"] == {"ethnicity": "A-7"}
    assert ("card_field_picked", "agent:A-7") in [(r["event"], r["actor"]) for r in kiosk.audit.records()]


def test_an_agent_cannot_stand_in_for_a_face_check_the_applicant_agreed_to(kiosk, clock):
    kiosk.agents.replace_roster([Agent("A-7", Role.AGENT, "422801", hash_pin("135790"))])
    flow = new_flow(kiosk, clock, kiosk.agents.login("A-7", "135790"))
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    with pytest.raises(StepRejected) as rejected:
        flow.confirm_identity_by_agent()
    assert rejected.value.code == "agent_check_not_allowed" and flow.step is Step.LIVENESS


def test_failed_liveness_and_face_mismatch_are_refused(kiosk, clock):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    with pytest.raises(StepRejected) as rejected:
        flow.submit_liveness(LivenessResult(False, 0.9, None, False, reason="printed photo"))
    assert rejected.value.code == "liveness_failed"
    with pytest.raises(StepRejected) as rejected:
        flow.submit_liveness(LivenessResult(True, 0.1, 0.2, False))
    assert rejected.value.code == "face_mismatch"
    with pytest.raises(StepRejected):
        flow.submit_liveness(LivenessResult(False, 0.9, None, False))
    assert flow.step is Step.ABANDONED and flow.end_reason is EndReason.LIVENESS_FAILED


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": Decimal(3000)}, "amount_outside_line"),
        ({"term_months": 7}, "term_not_offered"),
        ({"purpose": "casino"}, "purpose_unknown"),
        ({"phone": "12345"}, "phone_format"),
    ],
)
def test_bad_form_answers_stay_on_the_form_with_the_reason(kiosk, clock, change, code):
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    flow.submit_liveness(LIVE)
    with pytest.raises(StepRejected) as rejected:
        flow.submit_form(dataclasses.replace(FORM, **change))
    assert rejected.value.code == code and flow.step is Step.FORM
    assert flow.state().error.code == code


def test_input_for_another_step_is_refused_without_changing_state(kiosk, clock):
    flow = new_flow(kiosk, clock)
    with pytest.raises(WrongStep):
        flow.submit_form(FORM)
    assert flow.step is Step.CONSENT


def test_declined_offer_wipes_the_draft(kiosk, clock):
    flow = new_flow(kiosk, clock)
    to_scoring(flow)
    flow.submit_scores(GOOD)
    flow.reject_offer()
    assert flow.end_reason is EndReason.OFFER_REJECTED and kiosk.vault.draft_ids() == []


def test_drafts_left_by_a_crash_are_wiped_at_start(tmp_path, clock):
    kiosk = Kiosk.start(None, tmp_path, clock=clock)
    flow = new_flow(kiosk, clock)
    flow.give_consent(CONSENT)
    flow.submit_id(CARD)
    kiosk.close()  # the process dies here, the draft is on disk (encrypted)
    again = Kiosk.start(None, tmp_path, clock=clock)
    assert again.drafts_wiped_at_start == 1 and again.vault.draft_ids() == []
    assert again.audit.verify() == []


def test_audit_holds_no_personal_data(kiosk, clock):
    flow = new_flow(kiosk, clock)
    to_scoring(flow)
    flow.submit_scores(GOOD)
    flow.accept_offer()
    flow.confirm()
    text = repr(kiosk.audit.records())
    for secret in (CARD.name, CARD.id_number, FORM.phone, CARD.address):
        assert secret not in text
    assert "consent" in text and "submitted" in text
