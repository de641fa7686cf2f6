"""What each step of an application produces: the inputs the flow accepts from the engines
(capture, liveness, scoring) or from the form. Plain data, no behaviour."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

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
    unread: tuple[str, ...] = ()  # fields the capture could not read, for an agent to pick from a list


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


class RepaymentHistory(StrEnum):
    NONE = "none"  # never borrowed
    ON_TIME = "on_time"  # has borrowed and always repaid on time
    LATE = "late"  # has repaid late at least once


class Assets(StrEnum):
    REAL_ESTATE = "real_estate"  # a house, flat or rural homestead
    VEHICLE = "vehicle"
    INSURANCE_SAVINGS = "insurance_savings"  # life insurance or a savings plan
    NONE = "none"


@dataclass(frozen=True)
class FormAnswers:
    """The application form. The ranges are what a person can plausibly answer; the catalogue's
    own limits (amount, term, purpose) are checked by terminal_app.core.form."""

    __pydantic_config__: ClassVar = ConfigDict(extra="forbid")

    amount: Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)]
    term_months: Annotated[int, Field(ge=1, le=72)]
    purpose: Annotated[str, Field(min_length=1, max_length=40)]
    phone: Annotated[str, Field(min_length=1, max_length=20)]
    employment: Employment
    housing: Housing
    monthly_income: Annotated[int, Field(ge=0, le=10_000_000)]  # CNY
    dependants: Annotated[int, Field(ge=0, le=20)]
    existing_credits: Annotated[int, Field(ge=0, le=50)]  # loans being repaid now, anywhere
    years_employed: Annotated[int, Field(ge=0, le=80)]  # in the present work
    savings: Annotated[int, Field(ge=0, le=100_000_000)]  # CNY
    repayment_history: RepaymentHistory
    assets: Assets

    def as_json(self) -> dict:
        data = asdict(self)
        data["amount"] = str(self.amount)
        for name in ("employment", "housing", "repayment_history", "assets"):
            data[name] = str(data[name])
        return data


@dataclass(frozen=True)
class ScoreResult:
    fraud_score: int  # 0..1000, higher = more likely fraud (反撸分)
    credit_score: int  # 0..1000, higher = better (观星分)
    model_version: str
    fraud_reasons: tuple[Reason, ...] = ()  # largest first
    credit_reasons: tuple[Reason, ...] = ()  # largest first
    details: dict = field(default_factory=dict)  # the challenger's PD, timings: recorded, not decided on
