"""Face finding, landmarks and face descriptors on the CPU, from models that ship in PyPI
packages. Loaded once, kept warm.

- Faces: dlib's HOG frontal face detector (in the dlib-bin wheel; Boost licence).
- Landmarks: MediaPipe's face mesh (`face_landmark.tflite`, 1.2 MB, 468 points; Apache-2.0),
  run on LiteRT (ai-edge-litert); its iris model (`iris_landmark.tflite`, 2.6 MB) refines each
  eye's lids. Both files are taken from the mediapipe 0.10.14 wheel and kept in `models/` with
  its licence: the mediapipe package itself would bring a second OpenCV distribution
  (opencv-contrib-python) beside rapidocr's opencv-python and needs protobuf 4, which onnx no
  longer runs on, for Python code the kiosk never runs.
- Descriptors: dlib's ResNet (22.5 MB, 0.993 on LFW) over its 5-point alignment, from
  `face-recognition-models` (public domain).

dlib's 68-point model, which the landmarks came from before, is not loaded: its training set
(iBUG 300-W) excludes commercial use. The liveness measures keep the 68 points in iBUG order:
each is the mesh vertex found nearest to it on the fixture faces (`MESH_FOR_68`)."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

DETECT_WIDTH = 400  # frames are searched at this width: HOG finds faces from 80 px, 128 px in a 640 frame
MESH_INPUT = 192  # the face mesh's input: a square crop around the face, this many pixels a side
# the crop's side over the detector's box side: dlib's box runs from the brows to the lower lip,
# and the mesh wants the whole head with a margin (at 1.5 it missed a dropped jaw: see the note)
MESH_CROP = 2.0
EYE_INPUT = 64  # the iris model's input: a square crop around one eye
EYE_CROP = 2.3  # the crop's side over the distance between the eye's corners
# The mesh vertices of the image-left eye's contour, in the order the iris model gives its
# first 16 eye-contour points (corner 33, lower lid, corner 133, upper lid); the other eye's are
# their mirror images, read from the flipped crop.
EYE_CONTOURS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
)
# The face-mesh vertex at each of the 68 iBUG points (jaw 0-16, brows 17-26, nose 27-35, eyes
# 36-47, mouth 48-67): for each point, the vertex nearest to where dlib's 68-point model put it,
# averaged over the 22 fixture frames (both portraits, every challenge at half and full
# strength); 2% of the face's width apart on average (1.5% around the eyes and mouth).
MESH_FOR_68 = (
    34, 137, 177, 58, 172, 150, 149, 148, 152, 377, 378, 379, 364, 288, 376, 352, 264,
    156, 63, 105, 66, 55, 285, 296, 334, 293, 383,
    168, 197, 5, 4, 75, 20, 2, 326, 305,
    7, 159, 158, 155, 153, 144, 382, 385, 386, 249, 373, 380,
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 91, 78, 82, 13, 312, 308, 317, 14, 87,
)  # fmt: skip


# Every weight file the kiosk loads, by use: where it is and its SHA-256, checked at load so a
# damaged or swapped file stops the start instead of judging faces.
MODELS_DIR = Path(__file__).parent / "models"
MODEL_ASSETS: dict[str, tuple[str, str]] = {
    "alignment": ("dlib:shape_predictor_5_face_landmarks.dat",
                  "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"),
    "descriptor": ("dlib:dlib_face_recognition_resnet_model_v1.dat",
                   "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"),
    "mesh": ("face_landmark.tflite", "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"),
    "iris": ("iris_landmark.tflite", "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"),
}  # fmt: skip


class FaceModelsMissing(RuntimeError):
    """A face model file is missing, or is not the file the kiosk was built with."""


def _package_dir(package: str, install: str) -> Path:
    # find_spec does not run the package: face_recognition_models' __init__ imports pkg_resources
    # (gone from new setuptools), mediapipe's would need its own dependencies
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelsMissing(f"{package} is not installed ({install})")
    return Path(next(iter(spec.submodule_search_locations)))


def dlib_models_dir() -> Path:
    """The folder of dlib's weights inside `face-recognition-models`."""
    return _package_dir("face_recognition_models", "pip install face-recognition-models") / "models"


def model_files() -> dict[str, Path]:
    """The weights the kiosk loads, by their use."""
    files = {}
    for use, (name, _) in MODEL_ASSETS.items():
        files[use] = dlib_models_dir() / name.removeprefix("dlib:") if name.startswith("dlib:") else MODELS_DIR / name
    return files


def checked_model_files() -> dict[str, Path]:
    """`model_files()`, each file's SHA-256 checked against MODEL_ASSETS (FaceModelsMissing if not)."""
    files = model_files()
    for use, path in files.items():
        if not path.is_file():
            raise FaceModelsMissing(f"the {use} model {path} is missing: reinstall the kiosk")
        if hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_ASSETS[use][1]:
            raise FaceModelsMissing(f"the {use} model {path} is not the file this kiosk was built with: reinstall it")
    return files


class _Model:
    """One LiteRT model with one image input, run on one thread (a terminal has two cores, and
    the preview, the detector and this share them)."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        self._interpreter.set_tensor(self._input, (rgb.astype(np.float32) / 255.0)[None])
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(index).ravel() for index in self._outputs]


def _square_crop(rgb: np.ndarray, centre: np.ndarray, side: float, size: int) -> tuple[np.ndarray, float, np.ndarray]:
    """A `side`-pixel square of the frame around `centre`, resized to `size`; with the scale and
    the crop's top left corner, to map points back."""
    corner = centre - side / 2
    scale = size / side
    to_crop = np.array([[scale, 0, -corner[0] * scale], [0, scale, -corner[1] * scale]], np.float32)
    return cv2.warpAffine(rgb, to_crop, (size, size), flags=cv2.INTER_LINEAR), scale, corner


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
    """dlib's detector, the face mesh, and dlib's 5-point alignment and descriptor (thread-safe)."""

    def __init__(self) -> None:
        import dlib

        files = checked_model_files()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._five = dlib.shape_predictor(str(files["alignment"]))
        self._descriptor = dlib.face_recognition_model_v1(str(files["descriptor"]))
        self._mesh = _Model(files["mesh"])
        self._iris = _Model(files["iris"])
        self._lock = threading.Lock()

    def _landmarks(self, rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The mesh's 468 points (frame pixels) in a square crop around `box`, the eyelids
        refined by the iris model (the mesh alone follows a closing lid only part of the way)."""
        left, top, right, bottom = box
        centre = np.array([(left + right) / 2, (top + bottom) / 2])
        crop, scale, corner = _square_crop(rgb, centre, MESH_CROP * max(right - left, bottom - top), MESH_INPUT)
        points = self._mesh(crop)[0]
        mesh = points.reshape(468, 3)[:, :2].astype(np.float64) / scale + corner
        for flipped, contour in enumerate(EYE_CONTOURS):
            outer, inner = mesh[contour[0]], mesh[contour[8]]
            side = EYE_CROP * float(np.linalg.norm(inner - outer))
            if side < 8:
                continue
            eye, eye_scale, eye_corner = _square_crop(rgb, (outer + inner) / 2, side, EYE_INPUT)
            if flipped:  # the model knows one eye: the other is shown to it mirrored
                eye = np.ascontiguousarray(eye[:, ::-1])
            lids = self._iris(eye)[0].reshape(71, 3)[:16, :2].astype(np.float64)
            if flipped:
                lids[:, 0] = EYE_INPUT - lids[:, 0]
            mesh[list(contour)] = lids / eye_scale + eye_corner
        return mesh

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
                frame_box = (
                    int(box.left() / scale),
                    int(box.top() / scale),
                    int(box.right() / scale),
                    int(box.bottom() / scale),
                )
                faces.append(Face(frame_box, self._landmarks(rgb, frame_box)[list(MESH_FOR_68)]))
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
