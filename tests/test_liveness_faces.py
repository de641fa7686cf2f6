"""Faces (dlib), landmarks (MediaPipe's face mesh) and descriptors (dlib) from models shipped
in packages, the measures the liveness challenges use, and the project's face fixtures: each
edit must move its own measure past the point a challenge would count it, on both portraits,
and leave the others near the baseline."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk_demo.synthetic import faces as sf
from terminal_app.liveness.faces import face_models
from terminal_app.liveness.measures import FaceMeasures, measure


def measured(image: np.ndarray) -> FaceMeasures:
    faces = face_models().faces(image)
    assert len(faces) == 1, f"{len(faces)} faces"
    return measure(faces[0], sf.FRAME)


@pytest.fixture(scope="module", params=sf.PEOPLE)
def person(request) -> tuple[np.ndarray, FaceMeasures]:
    image = sf.base_frame(request.param)
    return image, measured(image)


def test_the_framed_portraits_show_one_large_frontal_face(person):
    image, base = person
    face = face_models().faces(image)[0]
    assert image.shape == (480, 640, 3) and 180 <= face.width <= 260
    assert 0.25 <= base.ear <= 0.45 and abs(base.yaw) < 10 and 0.4 < base.nose_drop < 0.7


def test_closing_the_eyes_drops_the_eye_aspect_ratio_below_three_quarters_of_the_persons_own(person):
    image, base = person
    face = face_models().faces(image)[0]
    closed = measured(sf.close_eyes(image, face))
    assert closed.ear < 0.75 * base.ear
    half = measured(sf.close_eyes(image, face, amount=0.3))
    assert closed.ear < half.ear  # the measure follows the lid
    # the lids move the eye corners the pose solve uses: the yaw wobbles, but stays short of a
    # turn (12 degrees or more), and the mouth does not move
    assert abs(closed.yaw - base.yaw) < 12 and abs(closed.mouth - base.mouth) < 0.1


def test_turning_moves_the_yaw_each_way_and_nodding_drops_the_nose(person):
    image, base = person
    face = face_models().faces(image)[0]
    left = measured(sf.turn(image, face, 0.4))
    right = measured(sf.turn(image, face, -0.4))
    assert left.yaw < base.yaw - 12 and right.yaw > base.yaw + 12
    down = measured(sf.nod(image, face, 0.3))
    assert down.nose_drop > base.nose_drop + 0.05 and abs(down.yaw - base.yaw) < 12


def test_opening_the_mouth_raises_the_mouth_ratio(person):
    image, base = person
    face = face_models().faces(image)[0]
    opened = measured(sf.open_mouth(image, face, 0.5))
    assert opened.mouth > base.mouth + 0.2
    assert opened.ear > 0.75 * base.ear and opened.nose_drop < base.nose_drop + 0.05  # no blink, no nod


def test_descriptors_tell_the_two_people_apart_and_keep_one_person_under_camera_changes():
    models = face_models()
    astronaut, hopper = (sf.base_frame(name) for name in sf.PEOPLE)
    a = models.descriptor(astronaut, models.faces(astronaut)[0])
    h = models.descriptor(hopper, models.faces(hopper)[0])
    again = sf.camera_noise((astronaut * 0.8).astype(np.uint8), seed=1, sigma=4)
    a2 = models.descriptor(again, models.faces(again)[0])
    assert np.linalg.norm(a - a2) < 0.3 < 0.6 < np.linalg.norm(a - h)


def test_no_face_in_a_blank_or_dark_frame():
    assert face_models().faces(np.zeros((480, 640, 3), np.uint8)) == []
    assert face_models().faces(np.full((480, 640, 3), 200, np.uint8)) == []


def test_a_model_file_changed_or_missing_stops_the_models_from_loading(tmp_path, monkeypatch):
    import shutil

    from terminal_app.liveness import faces

    assert set(faces.checked_model_files()) == {"alignment", "descriptor", "mesh", "iris"}  # as shipped
    for name in ("face_landmark.tflite", "iris_landmark.tflite"):
        shutil.copy(faces.MODELS_DIR / name, tmp_path / name)
    damaged = bytearray((tmp_path / "face_landmark.tflite").read_bytes())
    damaged[5000] ^= 0x01
    (tmp_path / "face_landmark.tflite").write_bytes(bytes(damaged))
    monkeypatch.setattr(faces, "MODELS_DIR", tmp_path)
    with pytest.raises(faces.FaceModelsMissing, match=r"mesh model .* not the file"):
        faces.checked_model_files()
    (tmp_path / "face_landmark.tflite").unlink()
    with pytest.raises(faces.FaceModelsMissing, match=r"mesh model .* is missing"):
        faces.checked_model_files()
