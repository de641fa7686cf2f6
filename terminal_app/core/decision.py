"""Approve / refer / decline from the fraud and credit scores and the config's thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk_config.schema import Catalogue, Risk
from terminal_app.core.offer import Offer, offer_within_limit
from terminal_app.core.reasons import Reason
from terminal_app.core.steps import FormAnswers, ScoreResult


class Outcome(StrEnum):
    APPROVE = "approve"
    REFER = "refer"
    DECLINE = "decline"


FRAUD_HIGH = Reason("fraud_high")
FRAUD_ELEVATED = Reason("fraud_elevated")
CREDIT_LOW = Reason("credit_low")
CREDIT_BORDERLINE = Reason("credit_borderline")
NO_BAND = Reason("no_band")
IDENTITY_BY_AGENT = Reason("identity_by_agent")


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]


def decide(scores: ScoreResult, risk: Risk) -> Decision:
    """Fraud first (a likely fraud is never approved, whatever its credit), then credit.
    Any non-approval carries its threshold reason first, then the top two of the score that
    caused it (fraud signals for a fraud outcome, credit features for a credit one)."""
    fraud, credit = scores.fraud_score, scores.credit_score
    if fraud >= risk.fraud_decline:
        outcome, first, model_reasons = Outcome.DECLINE, FRAUD_HIGH, scores.fraud_reasons
    elif credit < risk.credit_refer:
        outcome, first, model_reasons = Outcome.DECLINE, CREDIT_LOW, scores.credit_reasons
    elif fraud >= risk.fraud_refer:
        outcome, first, model_reasons = Outcome.REFER, FRAUD_ELEVATED, scores.fraud_reasons
    elif credit < risk.credit_approve:
        outcome, first, model_reasons = Outcome.REFER, CREDIT_BORDERLINE, scores.credit_reasons
    else:
        return Decision(Outcome.APPROVE, ())
    return Decision(outcome, (first, *model_reasons[:2]))


def decide_with_offer(
    scores: ScoreResult, risk: Risk, catalogue: Catalogue, form: FormAnswers
) -> tuple[Decision, Offer | None]:
    """The decision and, for an approval, the offer (the amount asked for, cut to the band's
    limit). An approval no band can serve becomes a referral."""
    decision = decide(scores, risk)
    if decision.outcome is not Outcome.APPROVE:
        return decision, None
    offer = offer_within_limit(catalogue, scores.credit_score, form)
    if offer is None:
        return Decision(Outcome.REFER, (NO_BAND,)), None
    return decision, offer


def for_review(decision: Decision, reason: Reason) -> Decision:
    """An application a person must review whatever its scores (the no-face path): a decline
    stays a decline, anything else is referred with `reason` first."""
    if decision.outcome is Outcome.DECLINE:
        return decision
    return Decision(Outcome.REFER, (reason, *decision.reasons[:2]))
