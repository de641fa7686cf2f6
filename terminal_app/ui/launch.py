"""Opening the kiosk app (`kiosk ui`): the config and the CJK font are checked before any window
opens, Kivy is set up for a kiosk (full screen, no cursor, no exit key) or a developer's window,
and the kiosk's core runs on a thread of its own under the screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from terminal_app.ui.environment import find_cjk_font, prepare_kivy

VOICE_CACHE = "voice-cache"  # in the data directory: the spoken prompts, synthesised once


@dataclass
class Opened:
    """A kiosk app ready to run (or to be driven frame by frame by a test)."""

    app: object  # terminal_app.ui.app.KioskApp
    kiosk: object  # terminal_app.core.kiosk.Kiosk

    def close(self) -> None:
        self.kiosk.close()  # type: ignore[attr-defined]


def open_kiosk_app(
    config_path: Path | str | None,
    data_dir: Path | str | None,
    *,
    camera: str = "device",
    windowed: bool = False,
    offscreen: bool = False,
    camera_options: dict | None = None,
    today: date | None = None,
) -> Opened:
    """The kiosk and its app, not yet running. Raises ConfigError (an invalid config), NoCjkFont,
    or UnknownCamera before any window exists."""
    from terminal_app.capture.cameras import open_cameras
    from terminal_app.core.kiosk import Kiosk

    kiosk = Kiosk.start_on_core_thread(config_path, data_dir)
    try:
        font = find_cjk_font(kiosk.config.display.font)
        cameras = open_cameras(camera, kiosk, **(camera_options or {}))
        display = kiosk.config.display
        windowed = windowed or not display.fullscreen
        prepare_kivy(windowed=windowed, offscreen=offscreen, exit_keys=display.exit_keys or windowed,
                     home=kiosk.vault.data_dir / "kivy")  # fmt: skip
        from kivy.core.text import DEFAULT_FONT, LabelBase

        LabelBase.register(DEFAULT_FONT, str(font))
        from terminal_app.ui.app import KioskApp

        app = KioskApp(kiosk, cameras, voice_cache=kiosk.vault.data_dir / VOICE_CACHE, today=today,
                       exit_keys=windowed and not offscreen)  # fmt: skip
    except BaseException:
        kiosk.close()
        raise
    return Opened(app, kiosk)
