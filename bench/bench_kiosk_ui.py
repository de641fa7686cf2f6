"""The kiosk app on this machine: the real window (offscreen), the demo's genuine applicants walked
through it by touch on the synthetic camera, at the camera's 15 fps.

    .venv/bin/python bench/bench_kiosk_ui.py [--applicants 3]

Prints: cold start (process start to the first frame of the welcome screen on the window; the
Python imports and the kiosk's start inside it); resident memory idle at welcome and the peak
over the walks, every model warm (target <= 600 MB); the preview's frame rate on the card and
face screens, frames drawn on the window per second of the step (target >= 15, the camera's
rate; the quality gate and OCR running); the UI thread's longest stall during the camera steps
(the longest gap between two of Kivy's frames; target < 100 ms); and per applicant, the
identity steps' time (consent given to the form shown: the card, the card check, the face; a
person's time, the camera running in real time; target < 20 s against the seed's 3 minutes) and
the whole application's (welcome to receipt; target < 90 s). The synthetic camera's cost of
drawing its frames runs on the capture's thread and is printed apart: it is the simulation's,
not the kiosk's; a real camera delivers its frames for nothing."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEED_IDENTITY_S = 180.0  # the seed article's platform: identity checks within 3 minutes


def process_age_s() -> float:
    """Seconds since this process started (from /proc: the kernel's own start time)."""
    ticks = os.sysconf("SC_CLK_TCK")
    start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start


def rss_mib(field: str = "VmRSS") -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=3)
    parser.add_argument("--camera", choices=("recorded", "synthetic"), default="recorded",
                        help="recorded: frames drawn before the kiosk starts (the kiosk's own cost); synthetic: "
                        "people who react to the screen, their frames drawn as they are shown")  # fmt: skip
    args = parser.parse_args()

    from kiosk_config import load_config
    from kiosk_demo.applicants import GENUINE, make_applicants

    imported_s = process_age_s()
    config = load_config(None)
    people = [a for a in make_applicants(10 * args.applicants, seed=11, today=date.today(),
              county=config.terminal.county, catalogue=config.catalogue) if a.scenario == GENUINE]  # fmt: skip
    people = people[: args.applicants]
    data = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    options: dict = {"applicants": people}
    recorded_mib = 0.0
    if args.camera == "recorded":  # drawn now, before the kiosk starts: the simulation's cost
        from kiosk_demo.synthetic.camera import record

        drawing = time.perf_counter()
        recordings = record(people, config.liveness.challenges)
        options = {"recordings": recordings}
        recorded_mib = sum(f.nbytes for _, card, face in recordings for f in card + face) / 2**20
        print(f"simulation: {len(recordings)} recordings drawn in {time.perf_counter() - drawing:.1f} s, "
              f"{recorded_mib:.0f} MiB of frames held in memory (in the figures below, not the kiosk's)")  # fmt: skip
    started_kiosk_at = process_age_s()
    opening = time.perf_counter()
    from terminal_app.ui.launch import open_kiosk_app

    opened = open_kiosk_app(None, data, camera=args.camera, offscreen=True, camera_options=options)
    opened_s = time.perf_counter() - opening
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk_demo.screen_walk import ScreenWalker

    app = opened.app
    first_frame: dict[str, float] = {}
    Window.bind(on_flip=lambda *_: first_frame.setdefault("at", process_age_s()))
    gaps: list[tuple[str, float]] = []  # (screen, ms between two frames)
    last = [time.perf_counter()]

    def frame(dt: float) -> None:
        now = time.perf_counter()
        gaps.append((app.manager.current, (now - last[0]) * 1000))
        last[0] = now

    Clock.schedule_interval(frame, 0)
    walker = ScreenWalker(app)
    results: list[dict] = []
    idle: dict[str, float] = {}

    def walk() -> None:
        try:
            walker.wait_screen("welcome")
            time.sleep(2.0)
            idle["rss"] = rss_mib()
            for person in people:
                record: dict = {"marks": {}}
                marks = record["marks"]
                started = time.monotonic()
                watcher = threading.Thread(target=_watch, args=(app, marks, started), daemon=True)
                watcher.start()
                drawing_before = app.cameras.drawing_ms
                end = walker.walk(person)
                record.update(end=end, seconds=time.monotonic() - started,
                              drawing_ms=app.cameras.drawing_ms - drawing_before)  # fmt: skip
                marks["done"] = True
                results.append(record)
                walker.wait_screen("welcome")
        finally:
            Clock.schedule_once(lambda dt: app.stop())

    threading.Thread(target=walk, daemon=True).start()
    app.run()
    peak = rss_mib("VmHWM")
    opened.close()

    simulation_s = started_kiosk_at - imported_s
    cold = first_frame.get("at", float("nan")) - simulation_s
    print(f"cold start to the first frame on the window: {cold:.2f} s, the simulation's {simulation_s:.1f} s "
          f"taken out (Python imports {imported_s:.2f} s; kiosk start, font and camera {opened_s:.2f} s)")  # fmt: skip
    walked = max((m["marks"].get("rss_max", 0.0) for m in results), default=float("nan"))
    kiosk_peak = walked - recorded_mib
    print(f"resident memory, the recordings' {recorded_mib:.0f} MiB taken out: idle at welcome "
          f"{idle.get('rss', float('nan')) - recorded_mib:.0f} MiB; the most during the walks {kiosk_peak:.0f} MiB, "
          f"sampled every 50 ms (process peak {peak:.0f} MiB, drawing the recordings included); "
          f"target <= 600 MiB: {'met' if kiosk_peak <= 600 else 'NOT met'}")  # fmt: skip
    for screen, target in (("card", 15.0), ("face", 15.0)):
        rates = [m["marks"].get(f"{screen}_fps") for m in results if m["marks"].get(f"{screen}_fps")]
        if rates:
            fps = statistics.median(rates)
            print(f"preview on the {screen} screen: {fps:.1f} frames/s drawn (median of {len(rates)}; "
                  f"ratio to the camera's 15 fps: {fps / target:.2f})")  # fmt: skip
    print(f"camera: {args.camera}")
    for screens in (("card",), ("face",), ("welcome",), ("consent",), ("check",), ("form",), ("scoring",),
                    ("offer",), ("confirm",), ("receipt",)):  # fmt: skip
        ms = sorted(gap for screen, gap in gaps[1:] if screen in screens)
        if ms:
            print(f"UI thread on {'/'.join(screens)}: longest gap between frames {ms[-1]:.0f} ms, p99 "
                  f"{ms[int(0.99 * (len(ms) - 1))]:.0f} ms, median {statistics.median(ms):.0f} ms over {len(ms)} "
                  f"frames (target: longest < 100 ms)")  # fmt: skip
    for i, record in enumerate(results, 1):
        marks = record["marks"]
        identity = marks.get("form", float("nan")) - marks.get("card", float("nan"))
        drawn_ms = record["drawing_ms"]
        print(f"applicant {i}: {record['end']} in {record['seconds']:.1f} s of screens (target < 90 s); identity "
              f"steps {identity:.1f} s (target < 20 s; ratio to the seed's 3 minutes {identity / SEED_IDENTITY_S:.3f});"
              f" the simulation drew the camera's frames in {drawn_ms / 1000:.1f} s (not the kiosk's)")  # fmt: skip


def _watch(app, marks: dict, started: float) -> None:
    """When each screen first shows (seconds since the walk began), and the preview's drawn rate."""
    counts: dict[str, tuple[float, int]] = {}
    while not marks.get("done"):
        name = app.manager.current
        if name not in marks:
            marks[name] = time.monotonic() - started
        marks["rss_max"] = max(marks.get("rss_max", 0.0), rss_mib())
        camera = getattr(app.screen, "camera", None)
        if camera is not None and name in ("card", "face"):
            now = time.monotonic()
            first = counts.setdefault(name, (now, camera.frames_shown))
            seconds = now - first[0]
            if seconds > 1.0:
                marks[f"{name}_fps"] = (camera.frames_shown - first[1]) / seconds
        time.sleep(0.05)


if __name__ == "__main__":
    main()
