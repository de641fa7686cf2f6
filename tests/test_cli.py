"""The `kiosk` and `kiosk-central` command lines, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from .conftest import id_number

pytestmark = pytest.mark.e2e  # the whole product: ./run test runs it, the developer loop does not

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, data_dir: Path | None = None, module: str = "terminal_app", stdin: str | None = None):
    env = dict(os.environ)
    if data_dir is not None:
        env["KIOSK_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        cwd=ROOT,
    )


def test_idcard_check_json_for_a_valid_number():
    number = id_number("422801", date(1990, 3, 7), "F")
    result = run("idcard", "check", number, "--json", "--today", "2026-11-25")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"valid", "reason", "birth_date", "sex", "region"}
    assert out["valid"] is True and out["birth_date"] == "1990-03-07" and out["sex"] == "F"
    assert out["region"]["code"] == "422801" and "恩施市" in out["region"]["name"]


@pytest.mark.parametrize(
    ("number", "code", "en"),
    [
        (id_number()[:17] + ("1" if id_number()[17] != "1" else "2"), "check_character", "check character"),
        ("12345", "length", "18 characters"),
        (id_number(birth=date(2015, 1, 1)), "age_too_low", "at least 18"),
    ],
)
def test_idcard_check_json_for_invalid_numbers_exits_2_with_both_languages(number, code, en):
    result = run("idcard", "check", number, "--json", "--today", "2026-11-25")
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert out["valid"] is False and out["reason"]["code"] == code
    assert en in out["reason"]["en"] and out["reason"]["zh"]


def test_idcard_check_accepts_lowercase_x():
    number = next(n for s in range(300) if (n := id_number(seed=s)).endswith("X"))
    result = run("idcard", "check", number.lower(), "--today", "2026-11-25")
    assert result.returncode == 0 and result.stdout.startswith("valid")


def test_offer_prints_a_schedule_and_refuses_out_of_range():
    ok = run("offer", "--credit-score", "720", "--amount", "20000", "--term", "6", "--purpose", "education", "--json")
    assert ok.returncode == 0, ok.stderr
    offer = json.loads(ok.stdout)
    assert len(offer["schedule"]) == 6 and offer["annual_rate"] == "0.1530"
    total = sum(float(r["payment"]) for r in offer["schedule"])
    assert round(total, 2) == float(offer["total_repayment"])
    refused = run("offer", "--credit-score", "720", "--amount", "200000", "--term", "6", "--purpose", "education")
    assert refused.returncode == 2
    assert "between 5000 and 100000" in refused.stderr


def test_signed_roster_update_by_usb_then_login(tmp_path, config_path, central_key_file):
    """kiosk-central signs a roster into a file; the terminal applies it; agents log in offline."""
    pin_hash = run("agent", "hash-pin", "--pin", "482913").stdout.strip()
    assert pin_hash.startswith("scrypt$")
    roster = tmp_path / "roster.json"
    roster.write_text(
        json.dumps({"agents": [{"agent_id": "A-1", "role": "agent", "county": "422801", "pin_hash": pin_hash}]})
    )
    db, update = str(tmp_path / "central.db"), tmp_path / "roster.update"
    published = run(
        "update", "publish", "roster", str(roster), "--db", db, "--signing-key", str(central_key_file),
        "--audience", "422801", "--out", str(update), module="sync.central_cli",
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["version"] == 1

    kiosk = ["--config", str(config_path)]
    applied = run(*kiosk, "update", "apply", str(update), data_dir=tmp_path / "d")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["outcome"] == "applied"
    good = run(*kiosk, "agent", "login", "A-1", "--pin", "482913", data_dir=tmp_path / "d")
    assert good.returncode == 0 and "logged in: A-1" in good.stdout
    bad = run(*kiosk, "agent", "login", "A-1", "--pin", "000000", data_dir=tmp_path / "d")
    assert bad.returncode == 2 and "4 attempts left" in bad.stderr

    # an unsigned or edited file is refused and the roster in force stays
    edited = tmp_path / "edited.update"
    edited.write_bytes(update.read_bytes().replace(b"A-1", b"A-2"))
    refused = run(*kiosk, "update", "apply", str(edited), data_dir=tmp_path / "d")
    assert refused.returncode == 2 and "bad_digest" in refused.stderr
    status = json.loads(run(*kiosk, "update", "status", data_dir=tmp_path / "d").stdout)
    assert status["roster"]["version"] == 1 and status["roster"]["source"] == "usb"

    # a roster the central side would refuse is never signed
    roster.write_text(json.dumps({"agents": [{"agent_id": "A-1", "role": "boss", "county": "422801",
                                              "pin_hash": pin_hash}]}))  # fmt: skip
    invalid = run(
        "update", "publish", "roster", str(roster), "--db", db, "--signing-key", str(central_key_file),
        module="sync.central_cli",
    )  # fmt: skip
    assert invalid.returncode == 2 and "agents[0].role" in invalid.stderr


def test_status_and_audit_verify(tmp_path):
    status = run("status", "--json", data_dir=tmp_path)
    assert status.returncode == 0
    assert json.loads(status.stdout)["terminal_id"] == "T-422801-0001"
    verify = run("audit", "verify", data_dir=tmp_path)
    assert verify.returncode == 0 and "intact" in verify.stdout


def test_central_keygen_prints_config_keys_and_never_overwrites(tmp_path):
    from kiosk_config.schema import Central

    result = run("keygen", str(tmp_path / "keys"), module="sync.central_cli")
    assert result.returncode == 0, result.stderr
    import tomllib

    section = tomllib.loads(result.stdout)["central"]
    Central(url="http://127.0.0.1:1/", **section)  # the printed keys validate in the schema
    assert oct((tmp_path / "keys" / "opening_key.pem").stat().st_mode & 0o777) == "0o600"
    again = run("keygen", str(tmp_path / "keys"), module="sync.central_cli")
    assert again.returncode != 0 and "never overwritten" in again.stderr


def _application(tmp_path: Path, **changes) -> Path:
    form = {
        "amount": "20000", "term_months": 12, "purpose": "green_ev", "phone": "13800138000",
        "employment": "farmer", "housing": "own", "monthly_income": 4000, "dependants": 2, "existing_credits": 0,
        "years_employed": 15, "savings": 8000, "repayment_history": "on_time", "assets": "real_estate",
    }  # fmt: skip
    data = {
        "id_number": id_number(seed=3),
        "form": {**form, **changes.pop("form", {})},
        "liveness": {"spoof_score": 0.04, "face_match_score": 0.88},
        "local_time": "2026-11-25T10:15:00",
        **changes,
    }
    path = tmp_path / "application.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_score_prints_scores_decision_reasons_and_offer(tmp_path):
    result = run("score", str(_application(tmp_path)), "--json", data_dir=tmp_path / "d")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"fraud_score", "credit_score", "decision", "reasons", "offer", "model_version", "timings_ms"} <= set(out)
    assert out["decision"] == "approve" and out["offer"]["green"] is True and out["model_version"] == "credit-de-1"
    declined = json.loads(
        run("score", str(_application(tmp_path, form={"repayment_history": "late", "amount": "90000",
            "savings": 0, "assets": "none", "employment": "unemployed", "monthly_income": 0, "purpose": "education",
            "housing": "family", "existing_credits": 3})), "--json",
            data_dir=tmp_path / "d").stdout
    )  # fmt: skip
    assert declined["decision"] == "decline" and declined["offer"] is None
    assert len(declined["reasons"]) == 3 and all(r["zh"] and r["en"] for r in declined["reasons"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"form": {"term_months": 7}}, "form.term_months"),
        ({"liveness": {"spoof_score": 4, "face_match_score": 0.9}}, "liveness.spoof_score"),
        ({"id_number": id_number(seed=3)[:17] + "0" if id_number(seed=3)[17] != "0" else "1"}, "id_number"),
    ],
)
def test_score_exits_2_naming_the_field_and_prints_no_score(tmp_path, changes, field):
    result = run("score", str(_application(tmp_path, **changes)), "--json", data_dir=tmp_path / "d")
    assert result.returncode == 2 and f"  {field}:" in result.stderr and result.stdout == ""


def test_model_bundle_published_verified_and_applied(tmp_path, config_path, central_key_file):
    from importlib import resources

    bundled = resources.files("ondevice_models") / "bundled"
    files = [str(bundled / name) for name in ("model_card.json", "scorecard.onnx", "gbm.onnx")]
    db, update = str(tmp_path / "central.db"), tmp_path / "model.update"
    published = run(
        "update", "publish", "model", *files, "--db", db, "--signing-key", str(central_key_file),
        "--out", str(update), module="sync.central_cli",
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    kiosk = ["--config", str(config_path)]
    verified = run(*kiosk, "model", "verify", str(update))
    assert verified.returncode == 0, verified.stderr
    out = json.loads(verified.stdout)
    assert out["signed"] is True and out["model_version"] == "credit-de-1" and out["golden_rows_reproduced"] == 8
    untrusted = run("model", "verify", str(update))  # the embedded config trusts other keys
    assert untrusted.returncode == 2 and "bad_signature" in untrusted.stderr
    edited = tmp_path / "edited.update"
    edited.write_bytes(update.read_bytes().replace(b"credit-de-1", b"credit-de-9"))
    assert "bad_digest" in run(*kiosk, "model", "verify", str(edited)).stderr
    applied = run(*kiosk, "update", "apply", str(update), data_dir=tmp_path / "d")
    assert applied.returncode == 0 and json.loads(applied.stdout)["kind"] == "model"


def test_idcard_read_prints_fields_and_exits_0_3_or_2(tmp_path):
    from PIL import Image

    from kiosk_demo.synthetic.card import draw_back, draw_front, make_cards

    card = make_cards(1, seed=4, today=date(2026, 11, 25))[0]
    draw_front(card).save(tmp_path / "front.png")
    draw_back(card).save(tmp_path / "back.jpg", quality=92)
    Image.new("RGB", (856, 540), "white").save(tmp_path / "blank.png")
    (tmp_path / "notes.txt").write_text("not an image")
    today = ("--today", "2026-11-25")
    front = run("idcard", "read", str(tmp_path / "front.png"), "--json", *today, "--portrait", str(tmp_path / "p.jpg"))
    assert front.returncode == 0, front.stderr
    out = json.loads(front.stdout)
    assert set(out) == {"side", "fields", "valid", "errors", "quality", "timings_ms"}
    assert out["side"] == "front" and out["fields"] == card.expected_fields("front") and out["valid"]
    assert (tmp_path / "p.jpg").read_bytes()[:2] == b"\xff\xd8"
    back = json.loads(run("idcard", "read", str(tmp_path / "back.jpg"), "--json", *today).stdout)
    assert back["side"] == "back" and back["fields"] == card.expected_fields("back")
    blank = run("idcard", "read", str(tmp_path / "blank.png"), "--json", *today)
    assert blank.returncode == 3 and json.loads(blank.stdout)["errors"][0]["code"] == "not_a_card"
    text = run("idcard", "read", str(tmp_path / "notes.txt"))
    assert text.returncode == 2 and "not_an_image" in text.stderr


def test_apply_runs_one_applicant_from_recorded_frames_and_a_form_file(tmp_path):
    import cv2

    from kiosk_config import load_config
    from kiosk_demo.applicants import make_applicants

    config = load_config()
    applicant = make_applicants(1, seed=11, today=date.today(), county="422801", catalogue=config.catalogue)[0]
    card, face = tmp_path / "card", tmp_path / "face"
    card.mkdir(), face.mkdir()
    for i, frame in enumerate(applicant.card_frames()):
        cv2.imwrite(str(card / f"{i:03d}.png"), frame)
    for i, frame in enumerate(applicant.liveness_frames(config.liveness.challenges)):
        cv2.imwrite(str(face / f"{i:03d}.png"), frame)
    form = tmp_path / "form.json"
    form.write_text(json.dumps(applicant.form.as_json()), encoding="utf-8")
    common = ["--card", str(card), "--face", str(face), "--form", str(form)]
    common += ["--challenge-seed", str(applicant.challenge_seed), "--json"]

    refused = run("apply", *common, data_dir=tmp_path / "data")  # no --consent: nothing is read
    assert refused.returncode == 4, refused.stderr
    out = json.loads(refused.stdout)
    assert out["stopped_at"] == {"step": "consent", "reason": "consent_refused"} and out["queued"] == 0

    result = run("apply", *common, "--consent", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["submitted"] and out["end"] == "submitted" and out["queued"] == 1
    assert [s["step"] for s in out["steps"]][:4] == ["consent", "capture", "liveness", "form"]
    assert out["decision"] in ("approve", "refer", "decline")
    assert applicant.person.name not in result.stdout + result.stderr

    form.write_text(json.dumps(applicant.form.as_json() | {"term_months": "twelve"}), encoding="utf-8")
    bad = run("apply", *common, "--consent", data_dir=tmp_path / "data")
    assert bad.returncode == 2 and "term_months" in bad.stderr
