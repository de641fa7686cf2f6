"""The model card: everything the terminal needs to know about a credit model besides its ONNX
files, as one JSON document signed with them. The terminal checks it with this schema before
it loads anything, and checks the ONNX files against it (ondevice_models.runtime).

It carries the feature schema (kinds, ranges, bins and their points), the form-to-feature
mapping (ondevice_models.form_mapping), the fraud score's weights (ondevice_models.fraud), the
training data, metrics and calibration, the score band table, and a few golden rows whose
outputs any faithful copy of the ONNX files reproduces.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CARD_VERSION = 2  # 2: the card pins each model file's SHA-256 (file_sha256)
MODEL_FILES = ("scorecard.onnx", "gbm.onnx")
Name = Annotated[str, Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bin(_Strict):
    label: str
    woe: float
    points: float
    train_count: int = Field(ge=0)
    train_bad_rate: float = Field(ge=0, le=1)


class CardFeature(_Strict):
    name: Name
    kind: Literal["numeric", "categorical"]
    coefficient: float
    range: tuple[float, float] | None = None  # numeric: the training data's min and max
    cuts: list[float] | None = None  # numeric: bin i holds values below cuts[i]
    categories: list[str] | None = None  # categorical: the ONNX input is the index in this list
    groups: list[list[str]] | None = None  # categorical: the categories in each bin
    bins: list[Bin] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> CardFeature:
        if self.kind == "numeric":
            if self.cuts is None or self.range is None or self.categories is not None:
                raise ValueError("a numeric feature has a range and cuts, no categories")
            if list(self.cuts) != sorted(set(self.cuts)) or len(self.bins) != len(self.cuts) + 1:
                raise ValueError("cuts must rise, with one bin more than cuts")
        else:
            if not self.categories or self.groups is None or self.cuts is not None:
                raise ValueError("a categorical feature has categories and groups, no cuts")
            grouped = [c for group in self.groups for c in group]
            if sorted(grouped) != sorted(self.categories) or len(grouped) != len(set(grouped)):
                raise ValueError("the groups must hold each category exactly once")
            if len(self.bins) != len(self.groups):
                raise ValueError("one bin per group")
        return self

    def max_points(self) -> float:
        return max(b.points for b in self.bins)


# --- the form-to-feature mapping -----------------------------------------------------------------


class Bucket(_Strict):
    below: float | None  # the value is < below; None closes the list (everything else)
    value: str | float


class MappingRule(_Strict):
    """How one model feature is filled from the application. Exactly one of: `fixed` (not asked
    at the kiosk), `copy` (the input as it is), `map` (input value → category) or `buckets`."""

    source: Name | None = None  # an input named in FormMapping.inputs
    fixed: str | float | None = None
    copy_: bool = Field(False, alias="copy")
    map: dict[str, str] | None = None
    buckets: list[Bucket] | None = None
    unless: dict[str, list[str]] | None = None  # {input: values} for which `otherwise` is used
    otherwise: str | float | None = None
    why: Text
    reason: dict[Literal["zh", "en"], Text] | None = None  # what to tell the applicant when it costs points

    model_config = _Strict.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _one_way(self) -> MappingRule:
        ways = [self.fixed is not None, self.copy_, self.map is not None, self.buckets is not None]
        if sum(ways) != 1:
            raise ValueError("a rule is exactly one of fixed, copy, map or buckets")
        if (self.fixed is None) != (self.source is not None):
            raise ValueError("a rule reads a source unless it is fixed")
        if self.buckets is not None and (not self.buckets or self.buckets[-1].below is not None):
            raise ValueError("the last bucket has below = null (everything else)")
        if (self.unless is None) != (self.otherwise is None):
            raise ValueError("unless and otherwise come together")
        if self.fixed is None and self.reason is None:
            raise ValueError("a feature the applicant answers needs a reason text (zh and en)")
        return self


class InputSpec(_Strict):
    kind: Literal["number", "choice"]
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] | None = None
    why: Text


class FormMapping(_Strict):
    version: int = Field(ge=1)
    cny_per_dm: float = Field(gt=0)  # money inputs are CNY; the training data's are Deutsche Mark
    money_inputs: list[Name]
    inputs: dict[Name, InputSpec]
    features: dict[Name, MappingRule]

    @model_validator(mode="after")
    def _sources_known(self) -> FormMapping:
        for name, rule in self.features.items():
            for source in [rule.source, *(rule.unless or {})]:
                if source is not None and source not in self.inputs:
                    raise ValueError(f"features.{name} reads {source!r}, which is not among the inputs")
            if rule.map is not None and rule.source in self.inputs:
                missing = set(self.inputs[rule.source].choices or []) - set(rule.map)
                if missing:
                    raise ValueError(f"features.{name}.map does not cover {sorted(missing)}")
        unknown = set(self.money_inputs) - set(self.inputs)
        if unknown:
            raise ValueError(f"money_inputs names unknown inputs: {sorted(unknown)}")
        return self


# --- the fraud score ---------------------------------------------------------------------------------


class FraudSignal(_Strict):
    weight: float = Field(ge=0, le=20)  # log-odds added per unit of the signal
    cap: float = Field(gt=0)  # the signal counts up to this much
    zh: Text
    en: Text


class FraudWeights(_Strict):
    version: int = Field(ge=1)
    intercept: float = Field(ge=-20, le=20)
    night_hours: tuple[int, int]  # [start, end): local hours counted as night
    reason_min_log_odds: float = Field(ge=0)  # a signal adding less than this gives no reason
    signals: dict[Name, FraudSignal]
    basis: Text


# --- the card ------------------------------------------------------------------------------------------


class GoldenRow(_Strict):
    features: list[float]
    points: float
    scorecard_pd: float
    gbm_pd: float


class ScoreBand(_Strict):
    min_points: float | None
    max_points: float | None
    test_count: int
    test_bad_rate: float | None


class ModelCard(_Strict):
    model_config = _Strict.model_config | {"extra": "ignore"}  # newer cards may say more
    card_version: Literal[2]
    model_version: Name
    trained_at: str
    files: list[Literal["scorecard.onnx", "gbm.onnx"]] = Field(min_length=2, max_length=2)
    file_sha256: dict[Literal["scorecard.onnx", "gbm.onnx"], Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]]
    features: list[CardFeature] = Field(min_length=1, max_length=64)
    scaling: dict[str, float]
    form_mapping: FormMapping
    fraud: FraudWeights
    golden_rows: list[GoldenRow] = Field(min_length=1, max_length=50)
    score_bands: list[ScoreBand]
    training_data: dict
    metrics: dict
    parity_max_abs_diff: dict[str, float]

    @model_validator(mode="after")
    def _consistent(self) -> ModelCard:
        names = [f.name for f in self.features]
        if sorted(self.files) != sorted(MODEL_FILES) or sorted(self.file_sha256) != sorted(MODEL_FILES):
            raise ValueError(f"files and file_sha256 must be {', '.join(MODEL_FILES)}")
        differ = set(names) ^ set(self.form_mapping.features)
        if differ:
            raise ValueError(f"form_mapping.features must cover exactly the model features: {sorted(differ)}")
        for row in self.golden_rows:
            if len(row.features) != len(names):
                raise ValueError(f"golden rows have one value per feature ({len(names)})")
        for feature in self.features:
            rule = self.form_mapping.features[feature.name]
            if feature.kind == "categorical":
                for value in _rule_values(rule):
                    if value not in (feature.categories or []):
                        raise ValueError(f"form_mapping.features.{feature.name} gives {value!r}, not a category")
        return self


def _rule_values(rule: MappingRule) -> list[str | float]:
    values: list[str | float] = []
    if rule.fixed is not None:
        values.append(rule.fixed)
    values += list((rule.map or {}).values()) + [b.value for b in rule.buckets or []]
    if rule.otherwise is not None:
        values.append(rule.otherwise)
    return values
