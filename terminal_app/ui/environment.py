"""What Kivy must be told before it is first imported (it reads its settings at import): where
its own files go, whether to draw offscreen, no command-line parsing, no cursor, no exit key;
and the CJK font the screens need, checked to really draw Chinese."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Fonts Debian ships with the Chinese the screens need, best first (fonts-wqy-microhei is the one
# packaging/apt-packages.txt installs).
KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
PROBE = "申请身份证"  # characters every screen uses


class NoCjkFont(Exception):
    """No font that draws Chinese: the screens would show boxes."""


def find_cjk_font(configured: str = "") -> Path:
    """The font the screens use: `configured` if set, else the first known one installed. It must
    draw every character of PROBE as a glyph of its own, not the font's missing-glyph box."""
    candidates = [configured] if configured else list(KNOWN_CJK_FONTS)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and draws_chinese(path):
            return path
    if configured:
        raise NoCjkFont(f"the font {configured} ([display] font) is missing or has no Chinese glyphs")
    raise NoCjkFont(
        "no font with Chinese glyphs is installed: install fonts-wqy-microhei, or set [display] font to a CJK font file"
    )


def draws_chinese(path: Path) -> bool:
    from PIL import ImageFont

    try:
        font = ImageFont.truetype(str(path), 32)
    except OSError:
        return False
    missing = bytes(font.getmask("\U000f0000"))  # a private-use code point no font draws
    return all(bytes(font.getmask(ch)) != missing and font.getmask(ch).getbbox() for ch in PROBE)


def prepare_kivy(*, windowed: bool, offscreen: bool, exit_keys: bool = False, home: Path | None = None) -> None:
    """Set Kivy's environment; call before anything imports kivy. `offscreen` draws with no display
    (tests, `kiosk demo --ui` on a server) through SDL's offscreen video driver."""
    if "kivy" not in sys.modules:  # read when kivy is first imported
        _kivy_environment(home)
    _window_settings(windowed=windowed, offscreen=offscreen, exit_keys=exit_keys)  # read as the window is made


def _kivy_environment(home: Path | None) -> None:
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_LOG_MODE"] = "PYTHON"  # Kivy logs through `logging` and leaves sys.stderr alone
    os.environ["KIVY_NO_FILELOG"] = "1"
    os.environ["KIVY_USE_DEFAULTCONFIG"] = "1"  # never read or write a user's ~/.kivy/config.ini
    os.environ["KIVY_HOME"] = str(home or Path(tempfile.mkdtemp(prefix="kiosk-kivy-")))
    os.environ["KIVY_WINDOW"] = "sdl2"
    os.environ["KIVY_AUDIO"] = "sdl2"
    import logging

    logging.getLogger("kivy").setLevel(logging.WARNING)


def _window_settings(*, windowed: bool, offscreen: bool, exit_keys: bool) -> None:
    # SDL would turn SIGTERM into a window-close request, which a kiosk refuses: systemd could not
    # stop it. The app handles SIGTERM itself (app.py).
    os.environ["SDL_NO_SIGNAL_HANDLERS"] = "1"
    if offscreen:  # read by SDL when the window is made
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "1" if exit_keys else "0")  # a kiosk: Escape does nothing
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "multisamples", "0")
    if windowed or offscreen:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "borderless", "0")
        Config.set("graphics", "width", "1280")
        Config.set("graphics", "height", "800")
        Config.set("graphics", "show_cursor", "1")
    else:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "show_cursor", "0")
