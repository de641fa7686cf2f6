"""The headless applicant session: the flow driven by the real engines (card capture with the
OCR models, liveness with the face models, the shipped model bundle), the application sealed
into the outbox."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kiosk_config import load_config
from kiosk_demo.applicants import (
    BAD_NUMBER,
    GENUINE,
    IMPOSTOR,
    DemoApplicant,
    make_applicants,
)
from kiosk_demo.run import HeldUpCard, application_record, entered_record
from terminal_app.capture.sources import FrameListSource
from terminal_app.core.engines import CaptureUnavailable
from terminal_app.core.flow import EndReason, Step
from terminal_app.core.session import CAMERA_UNAVAILABLE, ApplicantSession, GivenAnswers
from terminal_app.core.steps import LivenessResult
from terminal_app.liveness.engine import CameraLivenessEngine

TODAY = date.today()  # the flow checks ages and card validity against the real date


@pytest.fixture(scope="module")
def applicants() -> list[DemoApplicant]:
    config = load_config()
    return make_applicants(10, seed=11, today=TODAY, county=config.terminal.county, catalogue=config.catalogue)


def first(applicants: list[DemoApplicant], scenario: str) -> DemoApplicant:
    return next(a for a in applicants if a.scenario == scenario)


def session_for(kiosk, applicant: DemoApplicant) -> tuple[ApplicantSession, HeldUpCard]:
    card = HeldUpCard(kiosk, applicant, TODAY)
    card.present(1)
    frames = applicant.liveness_frames(kiosk.config.liveness.challenges)
    liveness = CameraLivenessEngine(
        lambda: FrameListSource(frames), kiosk.config.liveness, seed=applicant.challenge_seed
    )
    return ApplicantSession(kiosk, card, liveness), card


@pytest.mark.slow
def test_a_genuine_applicant_goes_through_every_step_and_is_sealed_as_entered(kiosk, central, applicants):
    applicant = first(applicants, GENUINE)
    session, card = session_for(kiosk, applicant)
    outcome = session.run(GivenAnswers(applicant.form), card.before_try)
    assert outcome.end_reason is EndReason.SUBMITTED and outcome.submitted
    assert [run.step for run in outcome.steps][:4] == ["consent", "capture", "liveness", "form"]
    assert all(run.ok for run in outcome.steps) and all(run.ms > 0 for run in outcome.steps)
    assert outcome.card.id_number == applicant.card.id_number and outcome.card.name == applicant.card.name
    assert outcome.liveness.passed and outcome.liveness.face_match_score >= kiosk.config.liveness.face_match_min
    assert outcome.scores.model_version == kiosk.model.model_version
    assert outcome.ms == pytest.approx(sum(run.ms for run in outcome.steps))
    # only the envelope is left on the terminal, and opened it holds what the kiosk took in
    assert kiosk.vault.draft_ids() == [] and kiosk.outbox.queued_ids() == [outcome.envelope_id]
    opened = central.open_outbox(kiosk)[outcome.application_id]
    assert application_record(opened) == entered_record(session)
    assert opened["liveness"]["face_match_score"] == outcome.liveness.face_match_score


@pytest.mark.slow
def test_a_card_whose_number_fails_its_check_is_refused_on_every_try_and_nothing_is_kept(kiosk, applicants):
    applicant = first(applicants, BAD_NUMBER)
    session, card = session_for(kiosk, applicant)
    outcome = session.run(GivenAnswers(applicant.form), card.before_try)
    captures = [run for run in outcome.steps if run.step == "capture"]
    assert [run.code for run in captures] == ["check_character"] * kiosk.config.identity.max_capture_attempts
    assert outcome.end_reason is EndReason.ID_ATTEMPTS_USED and not outcome.submitted
    assert outcome.stopped_by == captures[-1] and outcome.card is None
    assert kiosk.vault.draft_ids() == [] and kiosk.outbox.queued_ids() == []


@pytest.mark.slow
def test_someone_else_holding_the_card_fails_the_face_match_each_try(kiosk, applicants):
    applicant = first(applicants, IMPOSTOR)
    session, card = session_for(kiosk, applicant)
    outcome = session.run(GivenAnswers(applicant.form), card.before_try)
    checks = [run for run in outcome.steps if run.step == "liveness"]
    assert [run.code for run in checks] == ["face_mismatch"] * kiosk.config.identity.max_liveness_attempts
    assert outcome.end_reason is EndReason.LIVENESS_FAILED and kiosk.outbox.queued_ids() == []
    assert outcome.liveness.face_match_score < kiosk.config.liveness.face_match_min


class NoCamera:
    def read_card(self, run=None):
        raise CaptureUnavailable("no camera found")

    def check(self, portrait_jpeg, run=None):
        raise CaptureUnavailable("no camera found")


def test_a_missing_camera_ends_the_session_with_its_reason_and_wipes_the_draft(kiosk, applicants):
    session = ApplicantSession(kiosk, NoCamera(), NoCamera())
    outcome = session.run(GivenAnswers(applicants[0].form))
    assert outcome.end_reason is EndReason.DEVICE_UNAVAILABLE
    assert outcome.stopped_by.step == "capture" and outcome.stopped_by.code == CAMERA_UNAVAILABLE
    assert session.flow.state().error.code == CAMERA_UNAVAILABLE
    assert kiosk.vault.draft_ids() == []
    events = [row["event"] for row in kiosk.vault.db["audit"].rows]
    assert "device_failed" in events and events[-1] == "draft_wiped"


class Refusing:
    """A liveness engine whose every check fails with `reason`."""

    def __init__(self, reason: str):
        self.reason, self.calls = reason, 0

    def check(self, portrait_jpeg, run=None):
        self.calls += 1
        return LivenessResult(False, 0.9, None, False, reason=self.reason)


@pytest.mark.slow
def test_the_session_can_be_driven_one_step_at_a_time_like_the_screens_do(kiosk, applicants):
    applicant = first(applicants, GENUINE)
    card = HeldUpCard(kiosk, applicant, TODAY)
    card.present(1)
    liveness = Refusing("spoof_suspected")
    session = ApplicantSession(kiosk, card, liveness)
    answers = GivenAnswers(applicant.form)
    assert session.give_consent(answers.consent()) and session.step is Step.ID_CAPTURE
    assert session.capture_card() and session.step is Step.LIVENESS
    assert not session.check_liveness() and session.step is Step.LIVENESS  # tries are left
    state = session.flow.state()
    assert state.attempts_left == kiosk.config.identity.max_liveness_attempts - 1
    assert state.error.code == "liveness_failed" and session.outcome.steps[-1].code == "spoof_suspected"
    _, draft = kiosk.vault.load_draft(session.flow.session_id)
    draft = json.dumps(draft, ensure_ascii=False)
    assert applicant.card.name in draft  # the draft holds the card read, encrypted at rest
    session.run(answers)
    assert liveness.calls == kiosk.config.identity.max_liveness_attempts
    assert session.outcome.end_reason is EndReason.LIVENESS_FAILED and kiosk.vault.draft_ids() == []
