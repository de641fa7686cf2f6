"""Loading a model bundle on the terminal and scoring one application with it.

A bundle is the model card plus the two ONNX files it lists. Before anything is used the card
must pass its schema, the ONNX graphs must have exactly the inputs and outputs the card implies,
and the card's golden rows must come out of the sessions as recorded at export (within 1e-5):
a bundle whose files and card disagree is refused (BundleError), whoever signed it.

Sessions are created once per bundle, single-threaded (a terminal has two cores and a camera
to serve), and warmed with the golden rows, so the first applicant pays no start-up cost.
The embedded bundle (`bundled/`) is trained and exported by this project from the German
credit data (`python -m ondevice_models.export --out ondevice_models/bundled`); nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime
from pydantic import ValidationError

from ondevice_models.card import MODEL_FILES, ModelCard
from ondevice_models.form_mapping import to_feature_row
from ondevice_models.fraud import SIGNALS, FraudFacts, FraudScore, fraud_score

CARD_FILE = "model_card.json"
GOLDEN_TOLERANCE = 1e-5
REASON_MIN_POINTS = 8.0  # a fifth of the points that double the odds: less is not worth telling anyone
BUNDLED = "bundled"


class BundleError(Exception):
    """The bundle cannot be used; `problems` names each thing found wrong."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ReasonText:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class CreditResult:
    score: int  # scorecard points, 0..1000 (600 = odds 3:1 good to bad, +40 doubles the odds)
    scorecard_pd: float
    gbm_pd: float  # the challenger: recorded for monitoring, not used in the decision
    feature_points: dict[str, float]
    values: dict[str, str | float]  # the model-side value of each feature


@dataclass(frozen=True)
class Scored:
    credit: CreditResult
    fraud: FraudScore
    credit_reasons: tuple[ReasonText, ...]
    fraud_reasons: tuple[ReasonText, ...]
    model_version: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def _options() -> onnxruntime.SessionOptions:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def _session(name: str, raw: bytes) -> onnxruntime.InferenceSession:
    try:
        return onnxruntime.InferenceSession(raw, _options(), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own unexported exception types
        raise BundleError([f"{name}: not a loadable ONNX model ({str(error).splitlines()[0][:200]})"]) from None


def _signature(session: onnxruntime.InferenceSession) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return (
        [(i.name, i.type) for i in session.get_inputs()],
        [(o.name, o.type) for o in session.get_outputs()],
    )


@dataclass
class ModelBundle:
    card: ModelCard
    scorecard: onnxruntime.InferenceSession
    gbm: onnxruntime.InferenceSession
    session_ms: float = 0.0

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> ModelBundle:
        """Check and load a bundle held in memory (as a downstream update carries it)."""
        if CARD_FILE not in files:
            raise BundleError([f"{CARD_FILE}: missing"])
        try:
            card = ModelCard.model_validate(json.loads(files[CARD_FILE].decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as error:
            problems = (
                [f"{CARD_FILE}: {'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in error.errors()]
                if isinstance(error, ValidationError)
                else [f"{CARD_FILE}: not UTF-8 JSON ({error})"]
            )
            raise BundleError(problems) from None
        if set(card.fraud.signals) != set(SIGNALS):
            raise BundleError([f"fraud.signals must be exactly {', '.join(SIGNALS)}"])
        missing = [name for name in MODEL_FILES if name not in files]
        if missing:
            raise BundleError([f"{name}: listed in the card but missing" for name in missing])
        changed = [name for name in MODEL_FILES if hashlib.sha256(files[name]).hexdigest() != card.file_sha256[name]]
        if changed:  # a graph with a byte changed may still load and still reproduce the golden rows
            raise BundleError([f"{name}: not the file the card pins (SHA-256 differs)" for name in changed])
        started = time.perf_counter()
        bundle = cls(card, _session("scorecard.onnx", files["scorecard.onnx"]), _session("gbm.onnx", files["gbm.onnx"]))
        bundle.session_ms = (time.perf_counter() - started) * 1000
        bundle._check_graphs()
        bundle._check_golden_rows()
        return bundle

    @classmethod
    def from_directory(cls, directory: Path) -> ModelBundle:
        files = {}
        for name in (CARD_FILE, *MODEL_FILES):
            path = directory / name
            if path.is_file():
                files[name] = path.read_bytes()
        return cls.from_files(files)

    @classmethod
    def embedded(cls) -> ModelBundle:
        """The bundle that ships inside this package: the default until a signed one arrives."""
        root = resources.files("ondevice_models") / BUNDLED
        return cls.from_files({name: (root / name).read_bytes() for name in (CARD_FILE, *MODEL_FILES)})

    @property
    def model_version(self) -> str:
        return self.card.model_version

    def _check_graphs(self) -> None:
        count = len(self.card.features)
        scorecard_in, scorecard_out = _signature(self.scorecard)
        gbm_in, gbm_out = _signature(self.gbm)
        expected = {
            "scorecard.onnx inputs": (scorecard_in, [("features", "tensor(float)")]),
            "scorecard.onnx outputs": (
                scorecard_out,
                [
                    ("woe", "tensor(float)"),
                    ("feature_points", "tensor(double)"),
                    ("points", "tensor(double)"),
                    ("scorecard_pd", "tensor(double)"),
                ],
            ),
            "gbm.onnx inputs": (gbm_in, [("woe", "tensor(float)")]),
        }
        problems = [f"{what}: {got} instead of {want}" for what, (got, want) in expected.items() if got != want]
        if "probabilities" not in [name for name, _ in gbm_out]:
            problems.append(f"gbm.onnx outputs: {gbm_out} lack 'probabilities'")
        for session, name in ((self.scorecard, "scorecard.onnx"), (self.gbm, "gbm.onnx")):
            shape = session.get_inputs()[0].shape
            if len(shape) != 2 or shape[1] != count:
                problems.append(f"{name}: input shape {shape}, the card has {count} features")
        if problems:
            raise BundleError(problems)

    def run_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        woe, feature_points, points, pd = self.scorecard.run(None, {"features": rows})
        probabilities = self.gbm.run(["probabilities"], {"woe": woe})[0]
        return feature_points, points[:, 0], pd[:, 0], probabilities[:, 1].astype(np.float64)

    def _check_golden_rows(self) -> None:
        rows = np.array([r.features for r in self.card.golden_rows], dtype=np.float32)
        _, points, pd, gbm_pd = self.run_rows(rows)
        problems = []
        for i, row in enumerate(self.card.golden_rows):
            for name, got, want in (
                ("points", points[i], row.points),
                ("scorecard_pd", pd[i], row.scorecard_pd),
                ("gbm_pd", gbm_pd[i], row.gbm_pd),
            ):
                if not abs(float(got) - want) <= GOLDEN_TOLERANCE:
                    problems.append(
                        f"golden_rows[{i}].{name}: the ONNX files give {float(got):.6g}, the card {want:.6g}"
                    )
        if problems:
            raise BundleError(problems[:5])

    # --- scoring --------------------------------------------------------------------------------

    def credit(self, inputs: dict[str, object]) -> CreditResult:
        """Raises MappingError naming the input that cannot be used."""
        mapped = to_feature_row(self.card.features, self.card.form_mapping, inputs)
        feature_points, points, pd, gbm_pd = self.run_rows(mapped.row.reshape(1, -1))
        return CreditResult(
            score=min(1000, max(0, round(float(points[0])))),
            scorecard_pd=float(pd[0]),
            gbm_pd=float(gbm_pd[0]),
            feature_points={f.name: float(p) for f, p in zip(self.card.features, feature_points[0], strict=True)},
            values=mapped.values,
        )

    def credit_reasons(self, result: CreditResult) -> tuple[ReasonText, ...]:
        """The asked-about features that cost the most points against their best bin, largest first."""
        lost = []
        for feature in self.card.features:
            rule = self.card.form_mapping.features[feature.name]
            if rule.reason is None:  # fixed: not asked, so never a reason
                continue
            shortfall = feature.max_points() - result.feature_points[feature.name]
            if shortfall >= REASON_MIN_POINTS:
                lost.append((shortfall, ReasonText(f"credit.{feature.name}", rule.reason["zh"], rule.reason["en"])))
        lost.sort(key=lambda item: -item[0])
        return tuple(reason for _, reason in lost)

    def fraud_reasons(self, result: FraudScore) -> tuple[ReasonText, ...]:
        weights = self.card.fraud
        return tuple(
            ReasonText(f"fraud.{name}", weights.signals[name].zh, weights.signals[name].en)
            for name in result.top(weights)
        )

    def score(self, inputs: dict[str, object], facts: FraudFacts) -> Scored:
        started = time.perf_counter()
        fraud = fraud_score(facts, self.card.fraud)
        fraud_done = time.perf_counter()
        credit = self.credit(inputs)
        credit_done = time.perf_counter()
        return Scored(
            credit=credit,
            fraud=fraud,
            credit_reasons=self.credit_reasons(credit),
            fraud_reasons=self.fraud_reasons(fraud),
            model_version=self.model_version,
            timings_ms={
                "fraud": round((fraud_done - started) * 1000, 3),
                "credit": round((credit_done - fraud_done) * 1000, 3),
            },
        )
