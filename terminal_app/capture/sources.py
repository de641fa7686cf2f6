"""Where camera frames come from, behind one interface: a camera (OpenCV device index or
path, reconnecting when unplugged), a video file, a folder of images, or frames in memory
(the synthetic generator's). The capture and liveness steps read frames only through this.

`read()` never raises for a camera: it returns None while the camera is missing or lost and
says why in `status`, and keeps trying to reconnect. A file or folder that cannot be used at
all is refused when opened (SourceUnavailable, with a code), never half-way."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from terminal_app.capture.reader import ImageRejected, decode_image
from terminal_app.core.reasons import Reason

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
FOLDER_FPS = 15.0  # a folder of frames is played at this rate (for the frames' times)

STREAMING = Reason("streaming")
CAMERA_MISSING = Reason("camera_missing")
CAMERA_LOST = Reason("camera_lost")
ENDED = Reason("ended")


@dataclass(frozen=True)
class Frame:
    image: np.ndarray = field(repr=False)  # BGR
    index: int  # 0, 1, 2 ... in the order the source gave them
    time_ms: float  # since the source started


class SourceUnavailable(Exception):
    """A file or folder that cannot give frames at all; `code` says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class FrameSource(Protocol):
    status: Reason

    @property
    def ended(self) -> bool:
        """True when a finite source has given its last frame (a camera never ends)."""
        ...

    def read(self) -> Frame | None:
        """The next frame, or None when there is none now (see `status`) or no more (`ended`)."""
        ...

    def close(self) -> None: ...


class CameraSource:
    """A camera by device index (0) or path (/dev/video0), at the asked resolution if the
    camera offers it. Unplugged or failing, it reports CAMERA_MISSING / CAMERA_LOST and tries
    to open the device again every `retry_s` seconds."""

    def __init__(
        self,
        device: int | str,
        *,
        width: int = 1280,
        height: int = 720,
        fps: int = 15,
        retry_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.device = device
        self.size = (width, height)
        self.fps = fps
        self.retry_s = retry_s
        self._clock = clock
        self._capture: cv2.VideoCapture | None = None
        self._started = clock()
        self._last_attempt: float | None = None
        self._index = 0
        self.reconnects = 0
        self.status = CAMERA_MISSING
        self.last_frame_at: float | None = None  # on `clock`
        self.frame_rate: float | None = None  # the frames a second read lately (the terminal's health)
        self._open()

    @property
    def ended(self) -> bool:
        return False

    def _open(self) -> None:
        self._last_attempt = self._clock()
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            return
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        capture.set(cv2.CAP_PROP_FPS, self.fps)
        if self.status is CAMERA_LOST:
            self.reconnects += 1
        self._capture = capture
        self.status = STREAMING

    def _drop(self) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture = None
        self.status = CAMERA_LOST

    def read(self) -> Frame | None:
        if self._capture is None:
            if self._last_attempt is not None and self._clock() - self._last_attempt < self.retry_s:
                return None
            self._open()
            if self._capture is None:
                return None
        try:
            ok, image = self._capture.read()
        except cv2.error:
            ok, image = False, None
        if not ok or image is None or image.size == 0:
            self._drop()
            self._last_attempt = self._clock()
            return None
        now = self._clock()
        if self.last_frame_at is not None and now > self.last_frame_at:  # frames a second, smoothed
            rate = 1.0 / (now - self.last_frame_at)
            self.frame_rate = rate if self.frame_rate is None else 0.9 * self.frame_rate + 0.1 * rate
        self.last_frame_at = now
        frame = Frame(image, self._index, (now - self._started) * 1000)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
        self._capture = None


class VideoFileSource:
    """The frames of a video file, once through. A file OpenCV cannot open, or one with no
    frame in it, is refused when opened."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceUnavailable("not_found", f"{self.path}: no such file")
        self._capture = cv2.VideoCapture(str(self.path))
        fps = self._capture.get(cv2.CAP_PROP_FPS) if self._capture.isOpened() else 0.0
        self.fps = fps if 1 <= fps <= 240 else 25.0
        self._index = 0
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok or first is None:
            self._capture.release()
            reason = "not a video OpenCV can decode, or it has no frames"
            raise SourceUnavailable("no_frames", f"{self.path.name}: {reason}")
        self._pending: np.ndarray | None = first
        self.status = STREAMING

    @property
    def ended(self) -> bool:
        return self._pending is None

    def read(self) -> Frame | None:
        if self._pending is None:
            return None
        frame = Frame(self._pending, self._index, self._index * 1000 / self.fps)
        self._index += 1
        ok, following = self._capture.read()
        self._pending = following if ok and following is not None else None
        if self._pending is None:
            self._capture.release()
            self.status = ENDED
        return frame

    def close(self) -> None:
        self._capture.release()
        self._pending = None


class FrameListSource:
    """Frames already in memory (the synthetic generators'), played at `fps`."""

    def __init__(self, images: Iterable[np.ndarray], fps: float = FOLDER_FPS):
        self._images = iter(images)
        self.fps = fps
        self._index = 0
        self._ended = False
        self.status = STREAMING

    @property
    def ended(self) -> bool:
        return self._ended

    def read(self) -> Frame | None:
        image = next(self._images, None)
        if image is None:
            self._ended = True
            self.status = ENDED
            return None
        frame = Frame(image, self._index, self._index * 1000 / self.fps)
        self._index += 1
        return frame

    def close(self) -> None:
        self._ended = True


class ImageFolderSource(FrameListSource):
    """The images of a folder in name order. A file that is not a usable image is skipped and
    listed in `skipped` with its reason; a folder with no image at all is refused."""

    def __init__(self, path: str | Path, fps: float = FOLDER_FPS):
        self.path = Path(path)
        if not self.path.is_dir():
            raise SourceUnavailable("not_found", f"{self.path}: no such folder")
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise SourceUnavailable("no_frames", f"{self.path}: no image files (.jpg, .png, .bmp, .webp) in it")
        self.skipped: list[tuple[str, str]] = []
        super().__init__(self._decoded(), fps)

    def _decoded(self) -> Iterable[np.ndarray]:
        for path in self.files:
            try:
                yield decode_image(path.read_bytes())
            except ImageRejected as rejected:
                self.skipped.append((path.name, rejected.code))
            except OSError as error:
                self.skipped.append((path.name, f"unreadable: {error.strerror}"))


class LiveFeed:
    """A camera read on a thread of its own at the camera's pace: every frame goes to `on_frame`
    (the preview) as it arrives, and `read()` gives the newest frame not yet given, so a reader
    busy with an OCR pass skips the frames it had no time for — as a camera's driver drops them,
    but never handing over a stale one — and the preview never waits for the reader."""

    def __init__(self, source: FrameSource, on_frame: Callable[[Frame], None] | None = None, *, wait_s: float = 0.5):
        self._source, self._on_frame, self._wait_s = source, on_frame, wait_s
        self._latest: Frame | None = None
        self._given = -1  # the index of the last frame read() gave
        self._done = False  # the source ended, or close() was called
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, name="kiosk-camera-feed", daemon=True)
        self._thread.start()

    @property
    def status(self) -> Reason:
        return self._source.status

    @property
    def ended(self) -> bool:
        with self._changed:
            return self._done and (self._latest is None or self._latest.index == self._given)

    def _pump(self) -> None:
        while True:
            with self._changed:
                if self._done:
                    return
            frame = self._source.read()
            if frame is None:
                if self._source.ended:
                    with self._changed:
                        self._done = True
                        self._changed.notify_all()
                    return
                time.sleep(0.01)
                continue
            if self._on_frame is not None:
                self._on_frame(frame)
            with self._changed:
                self._latest = frame
                self._changed.notify_all()

    def read(self) -> Frame | None:
        """The newest frame not yet given, waiting up to `wait_s` for one; None if none came."""
        with self._changed:
            fresh = lambda: self._latest is not None and self._latest.index != self._given  # noqa: E731
            self._changed.wait_for(lambda: fresh() or self._done, timeout=self._wait_s)
            if not fresh():
                return None
            assert self._latest is not None
            self._given = self._latest.index
            return self._latest

    def close(self) -> None:
        with self._changed:
            self._done = True
            self._changed.notify_all()
        self._thread.join(timeout=2.0)
        self._source.close()


def open_source(spec: str, *, width: int = 1280, height: int = 720) -> FrameSource:
    """A source from a command-line argument: `camera:0` or `/dev/video0` (a camera), a folder
    (its images), or a video file."""
    if spec.startswith("camera:"):
        device = spec.removeprefix("camera:")
        return CameraSource(int(device) if device.isdigit() else device, width=width, height=height)
    if spec.startswith("/dev/"):
        return CameraSource(spec, width=width, height=height)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path)
    return VideoFileSource(path)
