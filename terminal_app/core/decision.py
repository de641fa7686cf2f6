"""Approve / refer / decline from the fraud and credit scores and the config's thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiosk_config.schema import Risk
from terminal_app.core.reasons import Reason


class Outcome(StrEnum):
    APPROVE = "approve"
    REFER = "refer"
    DECLINE = "decline"


FRAUD_HIGH = Reason("fraud_high", "身份核验风险过高", "The identity checks show a high fraud risk")
FRAUD_ELEVATED = Reason("fraud_elevated", "需要人工复核身份信息", "The identity checks need a manual review")
CREDIT_LOW = Reason("credit_low", "信用评分未达到要求", "The credit score is below the minimum")
CREDIT_BORDERLINE = Reason("credit_borderline", "信用评分需要人工复核", "The credit score needs a manual review")


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]


def decide(fraud_score: int, credit_score: int, risk: Risk, model_reasons: tuple[Reason, ...] = ()) -> Decision:
    """Fraud first (a likely fraud is never approved, whatever its credit), then credit.
    Any non-approval carries its threshold reason first, then up to two of the model's."""
    if fraud_score >= risk.fraud_decline:
        outcome, first = Outcome.DECLINE, FRAUD_HIGH
    elif credit_score < risk.credit_refer:
        outcome, first = Outcome.DECLINE, CREDIT_LOW
    elif fraud_score >= risk.fraud_refer:
        outcome, first = Outcome.REFER, FRAUD_ELEVATED
    elif credit_score < risk.credit_approve:
        outcome, first = Outcome.REFER, CREDIT_BORDERLINE
    else:
        return Decision(Outcome.APPROVE, ())
    extra = tuple(r for r in model_reasons if r.code != first.code)[:2]
    return Decision(outcome, (first, *extra))
