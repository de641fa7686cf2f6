"""The form-to-feature mapping: how a kiosk application becomes the credit model's input row.

The mapping is data. `DEFAULT_MAPPING` is written into the model card at export and signed
with the model, so a new model can change it without a new kiosk release; the terminal reads it
from the card (`to_feature_row`), never from this module's constant.

The training data is German, of the 1970s, in Deutsche Mark. Money inputs are converted with
`cny_per_dm`, chosen so the product's 5,000–100,000 CNY line spans the training amounts (250 to
18,424 DM): 100,000 CNY is 18,182 DM. Questions a county kiosk does not ask (a checking account
balance in DM, credits already at this lender) are fixed, and say why; a fixed feature adds the
same points for everyone and never becomes a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ondevice_models.card import CardFeature, FormMapping, MappingRule

_EMPLOYMENT = ["employed", "self_employed", "farmer", "student", "retired", "unemployed"]

DEFAULT_MAPPING: dict = {
    "version": 1,
    "cny_per_dm": 5.5,
    "money_inputs": ["amount_cny", "savings_cny"],
    "inputs": {
        "age": {"kind": "number", "minimum": 16, "maximum": 100, "why": "years, from the ID number's birth date"},
        "term_months": {"kind": "number", "minimum": 1, "maximum": 72, "why": "the form's term"},
        "amount_cny": {"kind": "number", "minimum": 0, "maximum": 10_000_000, "why": "the form's amount"},
        "purpose": {
            "kind": "choice",
            "choices": ["electronics", "appliances", "education", "green_ev", "green_appliance"],
            "why": "the form's purpose code",
        },
        "repayment_history": {
            "kind": "choice",
            "choices": ["none", "on_time", "late"],
            "why": "the form: never borrowed / always repaid on time / has repaid late",
        },
        "savings_cny": {"kind": "number", "minimum": 0, "maximum": 100_000_000, "why": "the form's savings"},
        "employment": {"kind": "choice", "choices": _EMPLOYMENT, "why": "the form's employment"},
        "years_employed": {"kind": "number", "minimum": 0, "maximum": 80, "why": "the form: years in this work"},
        "payment_to_income": {
            "kind": "number",
            "minimum": 0,
            "maximum": 1000,
            "why": "amount / term / monthly income (principal only)",
        },
        "assets": {
            "kind": "choice",
            "choices": ["real_estate", "vehicle", "insurance_savings", "none"],
            "why": "the form: most valuable asset (a rural homestead counts as real estate)",
        },
        "existing_credits": {"kind": "number", "minimum": 0, "maximum": 50, "why": "the form: loans being repaid"},
        "housing": {"kind": "choice", "choices": ["own", "rent", "family"], "why": "the form's housing"},
    },
    "features": {
        "status_of_existing_checking_account": {
            "fixed": "... >= 200 DM / salary assignments for at least 1 year",
            "why": "a DM checking balance has no kiosk equivalent; fixed at the group whose WOE is nearest zero",
        },
        "duration_in_month": {
            "source": "term_months",
            "copy": True,
            "why": "the term in months, as in the data (3 falls in the shortest bin)",
            "reason": {"zh": "借款期限较长", "en": "The loan term is long"},
        },
        "credit_history": {
            "source": "repayment_history",
            "map": {
                "none": "existing credits paid back duly till now",
                "on_time": "critical account/ other credits existing (not at this bank)",
                "late": "delay in paying off in the past",
            },
            "why": "on_time = credits with other lenders repaid; a thin file takes the commonest group, since "
            "the data's 'no credits taken' group behaves as high risk (a quirk of the 1970s sample)",
            "reason": {"zh": "过往还款记录不足或有逾期", "en": "Repayment history is short or has late payments"},
        },
        "purpose": {
            "source": "purpose",
            "map": {
                "electronics": "radio/television",
                "appliances": "domestic appliances",
                "education": "education",
                "green_ev": "car (new)",
                "green_appliance": "domestic appliances",
            },
            "why": "the nearest purpose in the data",
            "reason": {"zh": "该借款用途的历史风险较高", "en": "Loans for this purpose have a higher risk"},
        },
        "credit_amount": {
            "source": "amount_cny",
            "copy": True,
            "why": "CNY converted to DM with cny_per_dm",
            "reason": {"zh": "借款金额较高", "en": "The amount asked for is high"},
        },
        "savings_account_and_bonds": {
            "source": "savings_cny",
            "buckets": [
                {"below": 100, "value": "... < 100 DM"},
                {"below": 500, "value": "100 <= ... < 500 DM"},
                {"below": 1000, "value": "500 <= ... < 1000 DM"},
                {"below": None, "value": "... >= 1000 DM"},
            ],
            "why": "savings in CNY converted to DM, then the data's brackets",
            "reason": {"zh": "储蓄较少", "en": "Savings are low"},
        },
        "present_employment_since": {
            "source": "years_employed",
            "buckets": [
                {"below": 1, "value": "... < 1 year"},
                {"below": 4, "value": "1 <= ... < 4 years"},
                {"below": 7, "value": "4 <= ... < 7 years"},
                {"below": None, "value": "... >= 7 years"},
            ],
            "unless": {"employment": ["unemployed", "student"]},
            "otherwise": "unemployed",
            "why": "years in the present work; students and the unemployed have no present employment",
            "reason": {"zh": "当前工作年限较短", "en": "Time in the present work is short"},
        },
        "installment_rate_in_percentage_of_disposable_income": {
            "source": "payment_to_income",
            "buckets": [
                {"below": 0.10, "value": 1},
                {"below": 0.20, "value": 2},
                {"below": 0.35, "value": 3},
                {"below": None, "value": 4},
            ],
            "why": "the data codes the instalment's share of income as 1 to 4, higher meaning a larger share; "
            "the share brackets are this product's assumption",
            "reason": {"zh": "月还款占收入比例较高", "en": "The monthly payment is a large share of income"},
        },
        "property": {
            "source": "assets",
            "map": {
                "real_estate": "real estate",
                "vehicle": "car or other, not in attribute Savings account/bonds",
                "insurance_savings": "building society savings agreement/ life insurance",
                "none": "unknown / no property",
            },
            "why": "the data's property classes",
            "reason": {"zh": "名下资产较少", "en": "Few assets are held"},
        },
        "age_in_years": {
            "source": "age",
            "copy": True,
            "why": "age on the day of scoring, from the ID number",
            "reason": {"zh": "年龄段的历史风险较高", "en": "Applicants of this age have a higher risk"},
        },
        "other_installment_plans": {
            "source": "existing_credits",
            "buckets": [{"below": 1, "value": "none"}, {"below": None, "value": "bank"}],
            "why": "loans being repaid elsewhere (bank and store plans share one bin)",
            "reason": {"zh": "已有其他分期或贷款", "en": "Other loans or instalment plans are being repaid"},
        },
        "housing": {
            "source": "housing",
            "map": {"own": "own", "rent": "rent", "family": "for free"},
            "why": "living with family is the data's 'for free'",
            "reason": {"zh": "住房情况", "en": "The housing situation"},
        },
        "number_of_existing_credits_at_this_bank": {
            "fixed": 1,
            "why": "an applicant at the kiosk holds one credit with this lender: the one applied for",
        },
    },
}


class MappingError(ValueError):
    """An input the mapping cannot use: missing, of the wrong type, out of range or not a choice."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class MappedRow:
    row: np.ndarray  # float32, one value per model feature: the ONNX input
    values: dict[str, str | float]  # feature -> the model-side value (a category or a number)


def _checked(mapping: FormMapping, inputs: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, spec in mapping.inputs.items():
        if name not in inputs:
            raise MappingError(name, "missing")
        value = inputs[name]
        if spec.kind == "choice":
            if value not in (spec.choices or []):
                raise MappingError(name, f"{value!r} is not one of {', '.join(spec.choices or [])}")
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                raise MappingError(name, f"{value!r} is not a number")
            if (spec.minimum is not None and value < spec.minimum) or (
                spec.maximum is not None and value > spec.maximum
            ):
                raise MappingError(name, f"{value} is outside {spec.minimum}..{spec.maximum}")
            if name in mapping.money_inputs:
                value = float(value) / mapping.cny_per_dm
        out[name] = value
    return out


def _apply(rule: MappingRule, inputs: dict[str, object]) -> str | float:
    if rule.fixed is not None:
        return rule.fixed
    for source, values in (rule.unless or {}).items():
        if inputs[source] in values:
            return rule.otherwise  # type: ignore[return-value]  # the schema pairs it with unless
    value = inputs[rule.source]  # type: ignore[index]  # the schema requires a source here
    if rule.map is not None:
        return rule.map[str(value)]
    if rule.buckets is not None:
        return next(b.value for b in rule.buckets if b.below is None or float(value) < b.below)  # type: ignore[arg-type]
    return float(value)  # type: ignore[arg-type]


def to_feature_row(features: list[CardFeature], mapping: FormMapping, inputs: dict[str, object]) -> MappedRow:
    """The model's input row for one application. Raises MappingError naming the input."""
    checked = _checked(mapping, inputs)
    row = np.empty(len(features), dtype=np.float32)
    values: dict[str, str | float] = {}
    for j, feature in enumerate(features):
        value = _apply(mapping.features[feature.name], checked)
        values[feature.name] = value
        if feature.kind == "categorical":
            row[j] = (feature.categories or []).index(str(value))
        else:
            row[j] = float(value)
    return MappedRow(row, values)
