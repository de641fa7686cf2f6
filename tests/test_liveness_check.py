"""The whole liveness check over generated frame sequences: a live person whose face is on
the ID card passes; someone else's card, a replay on a phone, a printed photo and a still
picture fed as the camera each fail with their own reason, and bad input never passes."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk_config import load_config
from kiosk_demo.synthetic import card as sc
from kiosk_demo.synthetic import faces as sf
from kiosk_demo.synthetic import spoofs as ss
from kiosk_demo.synthetic.photo import LEVELS, photograph
from terminal_app.capture.reader import read_card
from terminal_app.capture.sources import FrameListSource, SourceUnavailable
from terminal_app.core.engines import CaptureUnavailable, LivenessEngine
from terminal_app.liveness.challenges import Kind, draw_challenges
from terminal_app.liveness.check import LivenessSettings, run_check
from terminal_app.liveness.engine import CameraLivenessEngine
from terminal_app.liveness.faces import face_models

from .test_cli import run as run_cli

TODAY = date(2026, 12, 1)
SETTINGS = LivenessSettings.from_config(load_config(None).liveness)


def card_photo(name: str, seed: int, level: str = "mild") -> np.ndarray:
    """The ID photo as the kiosk gets it: printed on a generated card, photographed, found,
    rectified and cropped by the capture step."""
    card = sc.make_cards(1, seed=seed, today=TODAY)[0]
    photo = Image.fromarray(cv2.cvtColor(sf.id_photo(name), cv2.COLOR_BGR2RGB))
    front = cv2.cvtColor(np.array(sc.draw_front(card, random.Random(seed), photo=photo)), cv2.COLOR_RGB2BGR)
    reading = read_card(photograph(front, LEVELS[level], seed=seed), today=TODAY)
    assert reading.side == "front"
    return cv2.imdecode(np.frombuffer(reading.portrait_jpeg(), np.uint8), cv2.IMREAD_COLOR)


def check(frames, kinds, portrait=None):
    return run_check(FrameListSource(frames), [Kind(k) for k in kinds], portrait=portrait, settings=SETTINGS)


@pytest.mark.slow
@pytest.mark.parametrize("name", sf.PEOPLE)
def test_the_person_on_the_card_passes_and_someone_else_does_not(name):
    kinds = ["blink", "turn_left"]
    frames = sf.challenge_frames(name, kinds, seed=11)
    own = check(frames, kinds, card_photo(name, seed=1))
    assert own.passed and own.reason is None, own.as_json()
    assert own.face_match.passed and own.face_match.score >= SETTINGS.face_match_min
    assert own.spoof_score <= SETTINGS.spoof_max
    key = cv2.imdecode(np.frombuffer(own.key_frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert key is not None and key.shape == (480, 640, 3)
    result = own.to_result()
    assert result.passed and result.face_match_passed and [c[0] for c in result.challenges] == kinds

    other = next(p for p in sf.PEOPLE if p != name)
    impostor = check(frames, kinds, card_photo(other, seed=2))
    assert not impostor.passed and impostor.reason.code == "face_mismatch"
    assert all(c.passed for c in impostor.challenges)  # alive, just not the card's holder
    assert impostor.face_match.score < SETTINGS.face_match_min


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22, 23])
@pytest.mark.parametrize("name", sf.PEOPLE)
def test_live_sequences_are_not_taken_for_spoofs(name, seed):
    kinds = [str(k) for k in draw_challenges(seed, 3)]
    report = check(sf.challenge_frames(name, kinds, seed=seed), kinds)
    assert report.passed, report.as_json()
    assert report.spoof_score <= 0.2


@pytest.mark.slow
@pytest.mark.parametrize("name", sf.PEOPLE)
def test_a_video_replayed_on_a_phone_does_the_challenges_and_is_still_refused(name):
    kinds = ["blink", "turn_left"]
    replay = ss.screen_replay(sf.challenge_frames(name, kinds, seed=31), seed=32)
    report = check(replay, kinds, card_photo(name, seed=3))
    assert not report.passed and report.reason.code == "spoof_suspected"
    assert report.spoof_score > SETTINGS.spoof_max and report.spoof_cues.border == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", sf.PEOPLE)
def test_a_printed_photo_tilted_to_fake_the_turn_is_refused(name):
    report = check(ss.printed_photo(name, seed=41), ["turn_left", "nod"], card_photo(name, seed=4))
    assert not report.passed and report.reason.code == "spoof_suspected"
    assert report.spoof_score > SETTINGS.spoof_max


def test_a_still_picture_fed_as_the_camera_is_refused():
    report = check(ss.still_injection("hopper"), ["blink", "open_mouth"])
    assert not report.passed and report.reason.code == "spoof_suspected"
    assert report.spoof_cues.frozen == 1.0 and report.spoof_cues.border == 0.0


@pytest.mark.slow
def test_bad_input_gets_its_own_reason_and_never_passes():
    base = sf.base_frame("astronaut")
    dark = [sf.camera_noise((base * 0.08).astype(np.uint8), i) for i in range(20)]
    report = check(dark, ["blink", "nod"])
    assert not report.passed and report.reason.code == "too_dark"

    empty = [sf.camera_noise(np.full_like(base, 128), i) for i in range(20)]
    assert check(empty, ["blink", "nod"]).reason.code == "no_face"

    far = np.full_like(base, 110)
    small = cv2.resize(base, None, fx=0.45, fy=0.45)
    far[: small.shape[0], : small.shape[1]] = small
    far_report = check([sf.camera_noise(far, i) for i in range(20)], ["blink", "nod"])
    assert not far_report.passed and far_report.reason.code == "face_too_small"

    # the face half out of the picture: found, but its landmarks past the edge are the mesh's guess
    shift = np.float32([[1, 0, -250], [0, 1, 0]])
    half_out = [cv2.warpAffine(f, shift, (640, 480), borderMode=cv2.BORDER_REPLICATE)
                for f in sf.challenge_frames("astronaut", ["turn_left", "blink"], seed=4)]  # fmt: skip
    assert face_models().faces(half_out[0])  # the detector does find it
    cut = check(half_out, ["turn_left", "blink"])
    assert not cut.passed and cut.reason.code == "face_cut_off"

    nothing = check([], ["blink", "nod"])
    assert not nothing.passed and not nothing.usable and nothing.reason.code == "no_frames"

    blank_photo = np.full((330, 260, 3), 235, np.uint8)
    no_portrait = check(sf.challenge_frames("astronaut", ["blink"], seed=5), ["blink"], blank_photo)
    assert not no_portrait.passed and not no_portrait.usable and no_portrait.reason.code == "portrait_no_face"

    other = sf.base_frame("hopper")[:, 200:480]
    two = [np.hstack([f[:, :360], other]) for f in sf.challenge_frames("astronaut", ["blink"], seed=6)]
    assert check(two, ["blink"]).reason.code == "several_faces"


def test_liveness_thresholds_come_from_the_config(tmp_path):
    default = load_config(None).liveness
    assert (default.spoof_max, default.face_match_min, default.challenges) == (0.5, 0.55, 2)
    strict = LivenessSettings.from_config(default.model_copy(update={"face_match_min": 0.99}))
    kinds = ["blink", "nod"]
    report = run_check(FrameListSource(sf.challenge_frames("hopper", kinds, seed=7)), [Kind(k) for k in kinds],
                       portrait=card_photo("hopper", seed=5), settings=strict)  # fmt: skip
    assert not report.passed and report.reason.code == "face_mismatch"


def _write_folder(folder: Path, frames: list[np.ndarray]) -> None:
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)


@pytest.mark.slow
def test_kiosk_liveness_run_prints_the_report_and_exits_by_outcome(tmp_path):
    kinds = ["open_mouth", "turn_right"]
    _write_folder(tmp_path / "live", sf.challenge_frames("astronaut", kinds, seed=8))
    cv2.imwrite(str(tmp_path / "photo.jpg"), card_photo("astronaut", seed=6))
    result = run_cli("liveness", "run", str(tmp_path / "live"), "--challenges", ",".join(kinds),
                     "--id-photo", str(tmp_path / "photo.jpg"), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"passed", "challenges", "spoof_score", "face_match", "reason"} <= set(out)
    assert out["passed"] is True and out["reason"] is None and out["face_match"]["passed"] is True
    assert [c["kind"] for c in out["challenges"]] == kinds
    assert all(c["passed"] and c["ms"] > 0 for c in out["challenges"])

    writer = cv2.VideoWriter(str(tmp_path / "replay.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 15, sf.FRAME)
    for frame in ss.screen_replay(sf.challenge_frames("astronaut", kinds, seed=8), seed=9):
        writer.write(frame)
    writer.release()
    failed = run_cli("liveness", "run", str(tmp_path / "replay.avi"), "--challenges", ",".join(kinds), "--json")
    assert failed.returncode == 4, failed.stderr
    assert json.loads(failed.stdout)["reason"] == "spoof_suspected"

    (tmp_path / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    corrupt = run_cli("liveness", "run", str(tmp_path / "corrupt.mp4"), "--seed", "1", "--json")
    assert corrupt.returncode == 3 and json.loads(corrupt.stdout)["reason"] == "no_frames"
    (tmp_path / "notes.jpg").write_text("not a photo")
    no_photo = run_cli("liveness", "run", str(tmp_path / "live"), "--seed", "1", "--id-photo",
                       str(tmp_path / "notes.jpg"), "--json")  # fmt: skip
    assert no_photo.returncode == 3 and json.loads(no_photo.stdout)["error"]["code"] == "portrait_unreadable"
    assert "not_an_image" in json.loads(no_photo.stdout)["error"]["message"]
    wrong = run_cli("liveness", "run", str(tmp_path / "live"), "--challenges", "blink,smile")
    assert wrong.returncode == 2 and "smile" not in wrong.stdout and "turn_left" in wrong.stderr


@pytest.mark.slow
def test_the_kiosk_engine_feeds_the_flow_a_result_it_can_decide_on():
    config = load_config(None).liveness
    kinds = [str(k) for k in draw_challenges(5, config.challenges)]
    frames = sf.challenge_frames("hopper", kinds, seed=12)
    engine: LivenessEngine = CameraLivenessEngine(lambda: FrameListSource(frames), config, seed=5)
    _, jpeg = cv2.imencode(".jpg", card_photo("hopper", seed=7))
    result = engine.check(jpeg.tobytes())
    assert result.passed and result.face_match_passed and result.key_frame_jpeg
    assert [c[0] for c in result.challenges] == kinds

    other = engine.check(cv2.imencode(".jpg", card_photo("astronaut", seed=8))[1].tobytes())
    assert not other.face_match_passed and other.reason == "face_mismatch"
    assert engine.check(b"not a jpeg").reason == "portrait_no_face"

    def unplugged():
        raise SourceUnavailable("camera_missing", "no camera found")

    with pytest.raises(CaptureUnavailable):
        CameraLivenessEngine(unplugged, config).check(None)
