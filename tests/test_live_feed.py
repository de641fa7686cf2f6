"""The kiosk app's camera feed: the preview gets every frame at the camera's pace while a slow
reader (an OCR pass) gets the newest frame it has time for, never a stale one, and the end of a
finite source reaches the reader once it has read the last frame."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from terminal_app.capture.sources import FrameListSource, LiveFeed

pytestmark = pytest.mark.unit


class Paced(FrameListSource):
    """Frames in memory at a camera's pace (10 ms a frame)."""

    def read(self):
        time.sleep(0.01)
        return super().read()


def test_a_slow_reader_gets_the_newest_frames_while_the_preview_gets_them_all():
    previewed: list[int] = []
    feed = LiveFeed(Paced([np.full((2, 2, 3), i, np.uint8) for i in range(60)]), lambda f: previewed.append(f.index))
    read: list[int] = []
    while not feed.ended:
        frame = feed.read()
        if frame is not None:
            read.append(frame.index)
            time.sleep(0.05)  # an OCR pass: five frames' time
    feed.close()
    assert previewed == list(range(60))
    assert read == sorted(set(read)) and len(read) < 30 and read[-1] == 59  # newest first, none twice, to the end


def test_a_camera_giving_nothing_gives_none_after_the_wait_and_close_stops_the_feed():
    class Silent(FrameListSource):
        def read(self):
            time.sleep(0.01)
            return None

        @property
        def ended(self):
            return False

    feed = LiveFeed(Silent([]), wait_s=0.1)
    started = time.monotonic()
    assert feed.read() is None and 0.09 <= time.monotonic() - started < 1.0
    feed.close()
    assert not any(t.name == "kiosk-camera-feed" and t.is_alive() for t in threading.enumerate())
