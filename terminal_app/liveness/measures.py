"""What the challenges measure from the 68 landmarks: eye aspect ratio (Soukupová and Čech,
2016), mouth opening, head yaw from a pose solve against a generic 3-D face, and how far down
the nose tip sits between the eyes and the mouth (a nod; the pose solve's pitch wobbled by
±4 degrees under camera noise on the test faces, this ratio by ±0.01 of a 0.07-0.1 nod).
Each is compared with the person's own baseline (see liveness.challenges), so small eyes,
glasses or a resting half-open mouth do not decide anything by themselves."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from terminal_app.liveness.faces import Face

# a generic face in millimetres: nose tip, chin, outer eye corners, mouth corners
MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, -63.6, -12.5),
        (-43.3, 32.7, -26.0),
        (43.3, 32.7, -26.0),
        (-28.9, -28.9, -24.1),
        (28.9, -28.9, -24.1),
    ]
)
LANDMARKS_FOR_POSE = [30, 8, 36, 45, 48, 54]


@dataclass(frozen=True)
class FaceMeasures:
    ear: float  # eye aspect ratio, both eyes averaged (open ~0.3, closed < 0.2)
    mouth: float  # inner lip gap over mouth width (closed ~0.0-0.15, open > 0.4)
    yaw: float  # degrees; falls as the person turns to their left (the nose moves to the camera's right)
    nose_drop: float  # nose tip below the eyes over mouth below the eyes; rises as the chin goes down


def _eye(points: np.ndarray) -> float:
    vertical = np.linalg.norm(points[1] - points[5]) + np.linalg.norm(points[2] - points[4])
    return float(vertical / (2 * np.linalg.norm(points[0] - points[3])))


def measure(face: Face, frame_size: tuple[int, int]) -> FaceMeasures:
    """The measures of one face; `frame_size` is (width, height) for the camera model."""
    p = face.landmarks
    ear = (_eye(p[36:42]) + _eye(p[42:48])) / 2
    mouth = float(np.linalg.norm(p[62] - p[66]) / np.linalg.norm(p[60] - p[64]))
    width, height = frame_size
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
    _, rotation, _ = cv2.solvePnP(
        MODEL_POINTS, p[LANDMARKS_FOR_POSE], camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE
    )
    matrix, _ = cv2.Rodrigues(rotation)
    yaw = float(np.degrees(np.arctan2(-matrix[2, 0], np.hypot(matrix[0, 0], matrix[1, 0]))))
    eyes_y, mouth_y = p[36:48, 1].mean(), p[48:60, 1].mean()
    nose_drop = float((p[30, 1] - eyes_y) / (mouth_y - eyes_y)) if mouth_y > eyes_y else 0.0
    return FaceMeasures(round(ear, 4), round(mouth, 4), round(yaw, 2), round(nose_drop, 4))
