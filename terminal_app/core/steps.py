"""What each step of an application produces: the inputs the flow accepts from the engines
(capture, liveness, scoring) or from the form. Plain data, no behaviour."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from terminal_app.core.reasons import Reason


class IdSource(StrEnum):
    OCR = "ocr"  # read from the card by the capture engine
    AGENT_ENTRY = "agent_entry"  # typed by a logged-in field agent looking at the card


@dataclass(frozen=True)
class ConsentRecord:
    """PIPL: separate consents, recorded with the text version the applicant saw."""

    id_data: bool  # processing of the ID card data
    biometrics: bool  # face capture and matching (sensitive personal information)
    text_version: str
    language: str
    given_at: float  # wall-clock time


@dataclass(frozen=True)
class IdCardFields:
    """The fields of a second-generation resident ID card (front and back)."""

    id_number: str
    name: str
    sex: str  # "M" / "F" as printed (男/女)
    birth_date: date
    ethnicity: str = ""
    address: str = ""
    authority: str = ""
    valid_from: date | None = None
    valid_to: date | str | None = None  # a date, or "长期" for long-term cards
    source: IdSource = IdSource.OCR
    portrait_jpeg: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    spoof_score: float  # 0 = surely live, 1 = surely a spoof
    face_match_score: float | None  # similarity to the ID portrait, None if no portrait
    face_match_passed: bool
    challenges: tuple[tuple[str, bool, int], ...] = ()  # (kind, passed, ms)
    reason: str = ""
    key_frame_jpeg: bytes | None = field(default=None, repr=False)


class Employment(StrEnum):
    EMPLOYED = "employed"
    SELF_EMPLOYED = "self_employed"
    FARMER = "farmer"
    STUDENT = "student"
    RETIRED = "retired"
    UNEMPLOYED = "unemployed"


class Housing(StrEnum):
    OWN = "own"
    RENT = "rent"
    FAMILY = "family"


@dataclass(frozen=True)
class FormAnswers:
    amount: Decimal
    term_months: int
    purpose: str
    phone: str
    employment: Employment
    housing: Housing
    monthly_income: int  # CNY
    dependants: int
    existing_credits: int

    def as_json(self) -> dict:
        data = asdict(self)
        data["amount"] = str(self.amount)
        data["employment"] = str(self.employment)
        data["housing"] = str(self.housing)
        return data


@dataclass(frozen=True)
class ScoreResult:
    fraud_score: int  # 0..1000, higher = more likely fraud (反撸分)
    credit_score: int  # 0..1000, higher = better (观星分)
    model_version: str
    reasons: tuple[Reason, ...] = ()
