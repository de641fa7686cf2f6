"""The fraud score (反撸分): the kiosk's identity and behaviour signals, added up as log-odds and
shown as 0–1000 (1000 × the probability the weights imply).

There are no fraud outcomes to fit these weights to yet, so they are an expert prior, not a
trained model, and the score is calibrated only in that sense: each weight says how many times
more likely fraud is when its signal is present (e^weight), and a score of 500 means the weights
put the odds at even. The weights travel in the signed model card (`fraud` section), so the
central service can refit them once referred and declined applications have outcomes, without a
kiosk release. How each signal is measured is code (`signals`); how much it counts is data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ondevice_models.card import FraudWeights

DEFAULT_WEIGHTS: dict = {
    "version": 1,
    "intercept": -4.0,
    "night_hours": [22, 6],
    "reason_min_log_odds": 0.5,
    "basis": "expert prior (no fraud outcomes yet): e^weight is the odds ratio each signal is believed to carry",
    "signals": {
        "blocklisted_id": {
            "weight": 7.0,
            "cap": 1,
            "zh": "身份证号码在风险名单中",
            "en": "The ID number is on the blocklist",
        },
        "blocklisted_phone": {
            "weight": 3.6,
            "cap": 1,
            "zh": "手机号码在风险名单中",
            "en": "The phone number is on the blocklist",
        },
        "spoof": {
            "weight": 5.0,
            "cap": 1,
            "zh": "活体检测疑似翻拍或面具",
            "en": "The liveness check suggests a photo or mask",
        },
        "face_mismatch": {
            "weight": 3.0,
            "cap": 1,
            "zh": "人脸与证件照相似度偏低",
            "en": "The face is only weakly similar to the ID photo",
        },
        "face_unverified": {
            "weight": 1.5,
            "cap": 1,
            "zh": "未能与证件照比对人脸",
            "en": "The face could not be compared with an ID photo",
        },
        "id_typed": {
            "weight": 0.7,
            "cap": 1,
            "zh": "身份证信息为手工录入",
            "en": "The ID card data was typed in, not read",
        },
        "extra_id_attempts": {
            "weight": 0.5,
            "cap": 3,
            "zh": "多次尝试识别身份证",
            "en": "The ID card took several attempts",
        },
        "extra_liveness_attempts": {
            "weight": 0.8,
            "cap": 3,
            "zh": "多次尝试活体检测",
            "en": "The liveness check took several attempts",
        },
        "same_id_recent": {
            "weight": 0.9,
            "cap": 4,
            "zh": "该身份证近期在本机多次申请",
            "en": "This ID number applied here repeatedly today",
        },
        "phone_shared": {
            "weight": 1.6,
            "cap": 3,
            "zh": "该手机号被多个身份证使用",
            "en": "This phone number was used with other ID numbers",
        },
        "amount_edits": {
            "weight": 0.25,
            "cap": 8,
            "zh": "借款金额被反复修改",
            "en": "The amount was changed many times",
        },
        "night": {"weight": 1.0, "cap": 1, "zh": "深夜时段申请", "en": "The application was made late at night"},
        "agent_assisted": {
            "weight": 0.3,
            "cap": 1,
            "zh": "由工作人员协助申请",
            "en": "A field agent assisted the application",
        },
    },
}


@dataclass(frozen=True)
class FraudFacts:
    """What the terminal knows when it scores; counts are for this terminal only."""

    blocklisted_id: bool
    blocklisted_phone: bool
    spoof_score: float  # 0 = surely live .. 1 = surely a spoof
    face_match_score: float | None  # 0..1, None if there was no ID portrait to compare with
    id_typed: bool  # typed in by an agent instead of read from the card
    id_attempts: int
    liveness_attempts: int
    same_id_recent: int  # earlier scorings of this ID number here in the last 24 h
    phone_other_ids: int  # other ID numbers scored with this phone here in the last 30 days
    amount_edits: int
    local_hour: int
    agent_assisted: bool


def signals(facts: FraudFacts, night_hours: tuple[int, int]) -> dict[str, float]:
    start, end = night_hours
    night = start <= facts.local_hour or facts.local_hour < end if start > end else start <= facts.local_hour < end
    return {
        "blocklisted_id": float(facts.blocklisted_id),
        "blocklisted_phone": float(facts.blocklisted_phone),
        "spoof": facts.spoof_score,
        "face_mismatch": 0.0 if facts.face_match_score is None else 1.0 - facts.face_match_score,
        "face_unverified": float(facts.face_match_score is None),
        "id_typed": float(facts.id_typed),
        "extra_id_attempts": float(max(0, facts.id_attempts - 1)),
        "extra_liveness_attempts": float(max(0, facts.liveness_attempts - 1)),
        "same_id_recent": float(facts.same_id_recent),
        "phone_shared": float(facts.phone_other_ids),
        "amount_edits": float(facts.amount_edits),
        "night": float(night),
        "agent_assisted": float(facts.agent_assisted),
    }


SIGNALS = tuple(DEFAULT_WEIGHTS["signals"])


@dataclass(frozen=True)
class FraudScore:
    score: int  # 0..1000
    log_odds: float
    contributions: dict[str, float]  # signal -> log-odds it added

    def top(self, weights: FraudWeights) -> list[str]:
        """Signals that added at least the reason threshold, largest first."""
        ranked = sorted(self.contributions.items(), key=lambda kv: (-kv[1], kv[0]))
        return [name for name, added in ranked if added >= weights.reason_min_log_odds]


def fraud_score(facts: FraudFacts, weights: FraudWeights) -> FraudScore:
    measured = signals(facts, weights.night_hours)
    contributions = {
        name: weights.signals[name].weight * min(max(value, 0.0), weights.signals[name].cap)
        for name, value in measured.items()
    }
    log_odds = weights.intercept + sum(contributions.values())
    probability = 1.0 / (1.0 + math.exp(-log_odds))
    return FraudScore(min(1000, max(0, round(1000 * probability))), log_odds, contributions)
