"""The credit models: trained from scratch on the German credit data with fixed seeds, exported to
ONNX, equal to the native models within 1e-5 on every row, and accepted by a terminal as a signed
model update."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from ondevice_models.data import EXCLUDED, load_german_credit, split
from ondevice_models.export import PARITY_TOLERANCE, export, feature_matrix, onnx_outputs, parity
from sync.update import build_update

BUNDLED = resources.files("ondevice_models") / "bundled"
BUNDLED_CARD = json.loads((BUNDLED / "model_card.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """A build from scratch with the embedded bundle's version and date."""
    out = tmp_path_factory.mktemp("model")
    models, card = export(out, BUNDLED_CARD["model_version"], BUNDLED_CARD["trained_at"])
    return models, card, out


@pytest.mark.slow
def test_onnx_matches_the_native_models_on_every_row(exported):
    models, card, out = exported
    for data in (models.test, models.train):
        differences = parity(models, out, data)
        assert max(differences.values()) <= PARITY_TOLERANCE, differences
    for key, exact in parity(models, out).items():  # the card records the order of magnitude
        assert exact <= card["parity_max_abs_diff"][key] <= 10 * exact, key


@pytest.mark.slow
def test_training_and_export_repeat_byte_for_byte(exported, tmp_path):
    _, card, out = exported
    _, again = export(tmp_path, card["model_version"], card["trained_at"])
    for name in ["model_card.json", *card["files"]]:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), f"{name} differs between two builds"
    assert again == card


def test_the_embedded_bundle_is_what_the_one_command_rebuilds(exported):
    """ondevice_models/bundled is `python -m ondevice_models.export --out ondevice_models/bundled`
    output, not a file of unknown origin: a rebuild from scratch gives the same bytes."""
    _, card, out = exported
    for name in ["model_card.json", *card["files"]]:
        assert (BUNDLED / name).read_bytes() == (out / name).read_bytes(), f"bundled/{name} is stale: re-export it"


def test_the_models_rank_applicants_and_are_calibrated_on_the_hold_out(exported):
    _, card, _ = exported
    for name in ("scorecard", "gbm"):
        metrics = card["metrics"][name]
        assert metrics["auc"] > 0.75 and metrics["ks"] > 0.35 and metrics["brier"] < 0.19, (name, metrics)
        assert metrics["statlog_cost"] < card["metrics"]["published"]["statlog_cost_default"]  # beats declining all
        observed = [row["observed"] for row in metrics["calibration"]]
        assert observed[0] < observed[-1] and abs(observed[-1] - metrics["calibration"][-1]["predicted"]) < 0.15


def test_higher_woe_never_raises_the_risk(exported):
    """The scorecard's coefficients are all negative and the GBM is monotone in every feature."""
    models, _, out = exported
    assert (models.scorecard.coefficients < 0).all()
    features = feature_matrix(models.scorecard, models.test)
    base = onnx_outputs(out, features)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out / "gbm.onnx"))
    woe = base["woe"].astype(np.float32)
    pd = session.run(["probabilities"], {"woe": woe})[0][:, 1]
    for j in range(woe.shape[1]):
        better = woe.copy()
        better[:, j] += 0.5
        assert (session.run(["probabilities"], {"woe": better})[0][:, 1] <= pd + 1e-7).all(), j


def test_sex_and_nationality_are_not_features(exported):
    _, card, _ = exported
    names = {f["name"] for f in card["features"]}
    assert not names & set(EXCLUDED)
    assert set(load_german_credit().columns) >= names


def test_the_hold_out_split_is_stratified_and_fixed():
    first, second = split(load_german_credit()), split(load_german_credit())
    assert (first[1].bad == second[1].bad).all() and len(first[1]) == 300
    assert first[0].bad.mean() == pytest.approx(0.3) and first[1].bad.mean() == pytest.approx(0.3)


def test_a_terminal_takes_the_signed_model_bundle(tmp_path, exported, kiosk, central):
    models, _, _ = exported
    _, card = export(tmp_path, "credit-test-2", "2026-11-26", models)
    files = {name: (tmp_path / name).read_bytes() for name in ["model_card.json", *card["files"]]}
    assert kiosk.model.model_version == BUNDLED_CARD["model_version"]  # the embedded one until then
    kiosk.apply_update(build_update("model", 1, files, central.signing), source="usb")
    assert kiosk.model.model_version == "credit-test-2" and kiosk.status()["model_version"] == "credit-test-2"


def test_a_model_file_with_any_byte_changed_is_refused_before_it_is_loaded(tmp_path):
    """The golden rows alone let 3 of 5 one-byte edits of gbm.onnx through: the card pins each file."""
    import random
    import shutil

    from ondevice_models.card import MODEL_FILES
    from ondevice_models.runtime import BundleError, ModelBundle

    rng = random.Random(5)
    for name in MODEL_FILES:
        for _ in range(5):
            shutil.rmtree(tmp_path / "b", ignore_errors=True)
            shutil.copytree(BUNDLED, tmp_path / "b")
            data = bytearray((tmp_path / "b" / name).read_bytes())
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            (tmp_path / "b" / name).write_bytes(bytes(data))
            with pytest.raises(BundleError) as refused:
                ModelBundle.from_directory(tmp_path / "b")
            assert refused.value.problems == [f"{name}: not the file the card pins (SHA-256 differs)"]
    assert ModelBundle.from_directory(BUNDLED).model_version == "credit-de-1"  # the untouched bundle loads
