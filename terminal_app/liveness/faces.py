"""Face finding, landmarks and face descriptors on the CPU, from models that ship in PyPI
packages: dlib's HOG face detector (in the dlib-bin wheel), and the 68-point landmark, 5-point
landmark and ResNet descriptor models of `face-recognition-models`. Loaded once, kept warm.

Weights and licences: the detector and the ResNet descriptor (22.5 MB, 0.993 LFW) are dlib's,
Boost / CC0. The 68-point model (99.7 MB) was trained on iBUG 300-W, whose terms exclude
commercial use: a production terminal needs a licence for it or another landmark model; the
interface here (68 points in the iBUG order) is what the liveness measures need."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

DETECT_WIDTH = 400  # frames are searched at this width: HOG finds faces from 80 px, 128 px in a 640 frame


class FaceModelsMissing(RuntimeError):
    """The face model package is not installed."""


def _models_dir() -> Path:
    # find_spec does not run the package, whose __init__ imports pkg_resources (gone from new setuptools)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelsMissing("face-recognition-models is not installed (pip install face-recognition-models)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in the frame
    landmarks: np.ndarray = field(repr=False)  # 68 x 2, iBUG order, frame pixels

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def centre(self) -> np.ndarray:
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2])


class FaceModels:
    """dlib's detector, 68-point shape predictor, and face descriptor (thread-safe)."""

    def __init__(self) -> None:
        import dlib

        folder = _models_dir()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
        self._five = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        self._descriptor = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
        self._lock = threading.Lock()

    def faces(self, frame_bgr: np.ndarray) -> list[Face]:
        """Every face in the frame with its landmarks, largest first."""
        width = frame_bgr.shape[1]
        scale = min(1.0, DETECT_WIDTH / width)
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        with self._lock:
            found = self._detector(small, 0)
            faces = []
            for box in found:
                rect = self._dlib.rectangle(
                    int(box.left() / scale), int(box.top() / scale), int(box.right() / scale), int(box.bottom() / scale)
                )
                shape = self._landmarks(rgb, rect)
                points = np.array([(p.x, p.y) for p in shape.parts()], np.float64)
                faces.append(Face((rect.left(), rect.top(), rect.right(), rect.bottom()), points))
        return sorted(faces, key=lambda face: face.width, reverse=True)

    def descriptor(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray:
        """The 128-d descriptor of `face` (Euclidean distance < 0.6: the same person, by dlib's
        own operating point; the kiosk's threshold is stricter, see liveness.match)."""
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        rect = self._dlib.rectangle(*face.box)
        with self._lock:
            shape = self._five(rgb, rect)
            return np.array(self._descriptor.compute_face_descriptor(rgb, shape), np.float64)


@cache
def face_models() -> FaceModels:
    return FaceModels()
