"""On-device quick risk scoring: one application in, fraud score, credit score and their reasons out.

`ScoringRequest` is what the scorer reads about an application: the flow builds it from the
draft (ApplicationFlow.scoring_request), `kiosk score APPLICATION.json` reads it from a file.
The request is checked as strictly as the flow checks its steps (ID number and its check digit,
the catalogue's amounts, terms and purposes, the phone); anything wrong raises ScoringRefused
naming the field, and nothing is scored.

The terminal adds what only it knows: blocklist hits (keyed hashes, terminal_app.core.blocklist)
and velocity on this terminal (terminal_app.core.velocity). The models come from the signed
bundle in force (ondevice_models.runtime).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk_config.loader import field_problems
from kiosk_config.schema import KioskConfig
from ondevice_models.form_mapping import MappingError
from ondevice_models.fraud import FraudFacts
from ondevice_models.runtime import ModelBundle, ReasonText
from terminal_app.core.blocklist import Blocklist
from terminal_app.core.form import FormProblem, check_form
from terminal_app.core.id_number import age_on, validate_id_number
from terminal_app.core.reasons import Reason
from terminal_app.core.steps import FormAnswers, IdSource, ScoreResult
from terminal_app.core.velocity import VelocityLog

Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]

# The form field behind each input of the model's form mapping, to name it in an error.
_FIELD_OF_INPUT = {
    "age": "id_number",
    "amount_cny": "form.amount",
    "savings_cny": "form.savings",
    "payment_to_income": "form.monthly_income",
}


class LivenessSignals(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    spoof_score: Unit  # 0 = surely live .. 1 = surely a spoof
    face_match_score: Unit | None  # None: there was no ID portrait to compare with
    attempts: Annotated[int, Field(ge=1, le=10)] = 1


class ScoringRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    id_source: IdSource = IdSource.OCR
    id_attempts: Annotated[int, Field(ge=1, le=10)] = 1
    form: FormAnswers
    liveness: LivenessSignals
    agent_assisted: bool = False
    amount_edits: Annotated[int, Field(ge=0, le=1000)] = 0
    local_time: datetime | None = None  # the terminal's local wall time; now if absent


class ScoringRefused(Exception):
    """The request cannot be scored; `problems` are 'field: message' lines."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems

    @classmethod
    def one(cls, field: str, message: str) -> ScoringRefused:
        return cls([f"{field}: {message}"])


def parse_request(data: object) -> ScoringRequest:
    try:
        return ScoringRequest.model_validate(data)
    except ValidationError as error:
        raise ScoringRefused(field_problems(error)) from None


def _reason(text: ReasonText) -> Reason:
    return Reason(text.code, texts={"zh": text.zh, "en": text.en})  # the words the signed model card gives


def model_inputs(form: FormAnswers, birth_date: date, today: date) -> dict[str, object]:
    """The inputs the model card's form mapping reads, from the form and the ID number."""
    monthly = float(form.amount) / form.term_months
    return {
        "age": age_on(birth_date, today),
        "term_months": form.term_months,
        "amount_cny": float(form.amount),
        "purpose": form.purpose,
        "repayment_history": str(form.repayment_history),
        "savings_cny": form.savings,
        "employment": str(form.employment),
        "years_employed": form.years_employed,
        "payment_to_income": min(1000.0, monthly / form.monthly_income) if form.monthly_income else 1000.0,
        "assets": str(form.assets),
        "existing_credits": form.existing_credits,
        "housing": str(form.housing),
    }


class OnDeviceScorer:
    """The scoring engine: the bundle in force, the blocklist in force, this terminal's velocity."""

    def __init__(
        self,
        config: Callable[[], KioskConfig],
        bundle: Callable[[], ModelBundle],
        blocklist: Callable[[], Blocklist],
        velocity: VelocityLog,
        *,
        local_now: Callable[[], datetime] = datetime.now,
    ):
        self._config, self._bundle, self._blocklist = config, bundle, blocklist
        self._velocity = velocity
        self._local_now = local_now

    def score(self, request: ScoringRequest, *, record: bool = True) -> ScoreResult:
        """Score one application; `record` counts it for velocity (off for a what-if from the CLI).
        Raises ScoringRefused naming the field."""
        started = time.perf_counter()
        config, bundle = self._config(), self._bundle()
        now = request.local_time or self._local_now()
        check = validate_id_number(
            request.id_number, today=now.date(), min_age=config.identity.min_age, max_age=config.identity.max_age
        )
        if not check.valid:
            raise ScoringRefused.one("id_number", check.reason.en)
        try:
            check_form(config.catalogue, request.form)
        except FormProblem as problem:
            raise ScoringRefused.one(f"form.{problem.field}", problem.reason.en) from None
        assert check.birth_date is not None  # a valid number has one
        inputs = model_inputs(request.form, check.birth_date, now.date())
        blocklist = self._blocklist()
        velocity = self._velocity.counts(check.number, request.form.phone)
        facts = FraudFacts(
            blocklisted_id=blocklist.has_id_number(check.number),
            blocklisted_phone=blocklist.has_phone(request.form.phone),
            spoof_score=request.liveness.spoof_score,
            face_match_score=request.liveness.face_match_score,
            id_typed=request.id_source is IdSource.AGENT_ENTRY,
            id_attempts=request.id_attempts,
            liveness_attempts=request.liveness.attempts,
            same_id_recent=velocity.same_id_recent,
            phone_other_ids=velocity.phone_other_ids,
            amount_edits=request.amount_edits,
            local_hour=now.hour,
            agent_assisted=request.agent_assisted,
        )
        try:
            scored = bundle.score(inputs, facts)
        except MappingError as error:
            field = _FIELD_OF_INPUT.get(error.field, f"form.{error.field}")
            raise ScoringRefused.one(field, f"the model {bundle.model_version} cannot use it ({error})") from None
        if record:
            self._velocity.record(check.number, request.form.phone)
        timings = {**scored.timings_ms, "total": round((time.perf_counter() - started) * 1000, 3)}
        return ScoreResult(
            fraud_score=scored.fraud.score,
            credit_score=scored.credit.score,
            model_version=scored.model_version,
            fraud_reasons=tuple(_reason(r) for r in scored.fraud_reasons),
            credit_reasons=tuple(_reason(r) for r in scored.credit_reasons),
            details={
                "scorecard_pd": round(scored.credit.scorecard_pd, 6),
                "challenger_gbm_pd": round(scored.credit.gbm_pd, 6),
                "fraud_log_odds": round(scored.fraud.log_odds, 4),
                "velocity": {"same_id_24h": velocity.same_id_recent, "phone_other_ids_30d": velocity.phone_other_ids},
                "timings_ms": timings,
            },
        )
