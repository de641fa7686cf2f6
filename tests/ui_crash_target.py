"""A kiosk app process for tests/test_kiosk_ui_crash.py to kill: it opens the app offscreen on
the synthetic camera, walks a genuine applicant to the screen named, prints "AT <screen>" and
keeps running until killed.  python tests/ui_crash_target.py CONFIG DATA SCREEN"""

from __future__ import annotations

import sys
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk_config import load_config
from kiosk_demo.applicants import GENUINE, make_applicants
from terminal_app.ui.launch import open_kiosk_app


def main(config: str, data: str, screen: str) -> None:
    settings = load_config(config)
    person = next(a for a in make_applicants(4, seed=11, today=date.today(), county=settings.terminal.county,
                                             catalogue=settings.catalogue) if a.scenario == GENUINE)  # fmt: skip
    opened = open_kiosk_app(config, data, camera="synthetic", offscreen=True, camera_options={"applicants": [person]})
    print(f"WIPED {opened.kiosk.drafts_wiped_at_start}", flush=True)
    from kiosk_demo.screen_walk import ScreenWalker

    walker = ScreenWalker(opened.app)

    def walk() -> None:
        reached = walker.walk(person, stop_at=screen)
        time.sleep(0.3)  # what the screen's arrival wrote is on disk
        print(f"AT {reached}", flush=True)

    threading.Thread(target=walk, daemon=True).start()
    opened.app.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
