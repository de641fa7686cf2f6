"""`kiosk demo --ui`: the demo's applicants walked through the kiosk's real screens by touch
(kiosk_demo/screen_walk.py), on a terminal enrolled with a local central service that publishes
the roster and the blocklist; every screen saved as PNG, a contact sheet of the screens in the
order a person meets them, and the applications synced to the central service at the end.
Offscreen when there is no display."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from PIL import Image, ImageDraw

from kiosk_demo.applicants import make_applicants
from kiosk_demo.run import DemoRefused, DemoRun

SCREENS = "screens"
CONTACT_SHEET = "contact-sheet.png"
THUMB = (384, 240)
COLUMNS = 5


@dataclass
class UiDemoReport:
    root: Path
    walks: list[dict] = field(default_factory=list)  # index, scenario, end, seconds, screens
    queued_before_sync: int = 0
    stored_centrally: int = 0
    contact_sheet: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_ui_demo(
    applicants: int, seed: int, keep: Path | None, *, progress: Callable[[str], None] = lambda line: None
) -> UiDemoReport:
    root = keep or Path(tempfile.mkdtemp(prefix="kiosk-demo-ui-"))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    run = DemoRun(root, applicants=applicants, seed=seed)
    report = UiDemoReport(root)
    try:
        run.central.start()
    except RuntimeError as error:
        raise DemoRefused(str(error)) from None
    try:
        kiosk = run.start_kiosk()
        config = root / "terminal" / "kiosk.toml"
        people = make_applicants(applicants, seed=seed, today=date.today(), county=kiosk.config.terminal.county,
                                 catalogue=kiosk.config.catalogue)  # fmt: skip
        run.first_contact(kiosk, people)  # enrolled; the roster and the blocklist taken down
        kiosk.close()
        progress(f"the kiosk's window opens {'on the display' if has_display() else 'offscreen'}")
        _walk_everyone(config, root / "terminal" / "data", people, root / SCREENS, report, progress)
        report.contact_sheet = contact_sheet(root / SCREENS, root / CONTACT_SHEET)
        kiosk = run.start_kiosk()
        try:
            report.queued_before_sync = kiosk.outbox.status()["queued"]
            synced = kiosk.sync_client(run.central.url).sync_once()
            if not synced.ok:
                report.problems.append(f"the sync after the walk failed: {synced.error}")
        finally:
            kiosk.close()
        report.stored_centrally = run.central.stored_envelopes()
    finally:
        run.central.stop()
    receipts = sum(1 for walk in report.walks if walk["end"] == "receipt")
    if report.stored_centrally < receipts:
        report.problems.append(f"{receipts} receipts shown, {report.stored_centrally} applications stored centrally")
    return report


def _walk_everyone(config: Path, data: Path, people, shots: Path, report: UiDemoReport, progress) -> None:
    from terminal_app.ui.launch import open_kiosk_app

    opened = open_kiosk_app(config, data, camera="synthetic", offscreen=not has_display(),
                            camera_options={"applicants": people})  # fmt: skip
    from kivy.clock import Clock

    from kiosk_demo.screen_walk import ScreenWalker

    app = opened.app
    walker = ScreenWalker(app)

    def script() -> None:
        try:
            for person in people:
                walker.seen.clear()
                started = time.monotonic()
                end = walker.walk(person, shots / f"{person.index:02d}-{person.scenario}")
                seconds = time.monotonic() - started
                report.walks.append({"index": person.index, "scenario": person.scenario, "end": end,
                                     "seconds": round(seconds, 1), "screens": list(walker.seen)})  # fmt: skip
                progress(f"applicant {person.index} ({person.scenario}): {end} after {seconds:.1f} s")
                walker.wait_screen("welcome", timeout=30)
        except BaseException:
            report.problems.append("the walk through the screens failed:\n" + traceback.format_exc())
        finally:
            Clock.schedule_once(lambda dt: app.stop())

    threading.Thread(target=script, name="walker", daemon=True).start()
    try:
        app.run()
    finally:
        opened.close()


def contact_sheet(shots: Path, out: Path) -> Path | None:
    """One PNG of every kind of screen, in the order a person first meets it (each applicant's walk
    in turn), captioned."""
    first: dict[str, Path] = {}
    for folder in sorted(p for p in shots.iterdir() if p.is_dir()):
        for shot in sorted(folder.glob("*.png")):
            kind = shot.stem.split("-", 1)[1]
            if kind in ("receipt", "ended"):  # how each kind of applicant's session ends
                kind = f"{kind}-{folder.name.split('-', 1)[1]}"
            first.setdefault(kind, shot)
    if not first:
        return None
    rows = (len(first) + COLUMNS - 1) // COLUMNS
    caption = 22
    sheet = Image.new("RGB", (COLUMNS * THUMB[0], rows * (THUMB[1] + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (kind, shot) in enumerate(first.items()):
        x, y = (i % COLUMNS) * THUMB[0], (i // COLUMNS) * (THUMB[1] + caption)
        sheet.paste(Image.open(shot).convert("RGB").resize(THUMB, Image.LANCZOS), (x, y + caption))
        draw.text((x + 6, y + 4), f"{i + 1}. {kind} ({shot.parent.name})", fill=(40, 40, 40))
    sheet.save(out, optimize=True)
    return out


def format_ui_report(report: UiDemoReport) -> str:
    lines = [f"#{w['index']:<3} {w['scenario']:<13} -> {w['end']:<8} {w['seconds']:>6.1f} s  "
             f"{' > '.join(w['screens'])}" for w in report.walks]  # fmt: skip
    lines += [
        "",
        f"screenshots: {report.root / SCREENS}",
        f"contact sheet: {report.contact_sheet}",
        f"queued after the walk: {report.queued_before_sync}; stored centrally: {report.stored_centrally}",
    ]
    lines += [f"PROBLEM: {p}" for p in report.problems] or ["all applications that reached a receipt arrived"]
    return "\n".join(lines)
