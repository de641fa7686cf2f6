"""`kiosk ui` refuses to open a window it cannot serve people with, naming what is wrong: an
invalid config, a font that cannot draw Chinese, a camera kind this install lacks."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terminal_app.ui.environment import KNOWN_CJK_FONTS, NoCjkFont, draws_chinese, find_cjk_font

pytestmark = pytest.mark.integration
# Kivy's own font, Latin only (found without importing kivy: the window tests set it up first)
ROBOTO = Path(importlib.util.find_spec("kivy").origin).parent / "data" / "fonts" / "Roboto-Regular.ttf"


def kiosk(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "data"), "SDL_VIDEODRIVER": "offscreen"}
    return subprocess.run([sys.executable, "-m", "terminal_app", *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


def test_an_invalid_config_is_refused_before_any_window(config_path, tmp_path):
    text = config_path.read_text("utf-8").replace("idle_timeout_s = 90", "idle_timeout_s = 5")
    bad = tmp_path / "bad.toml"
    bad.write_text(text, "utf-8")
    done = kiosk("--config", str(bad), "ui", "--offscreen", tmp_path=tmp_path)
    assert done.returncode == 2 and "idle_timeout_s" in done.stderr and "invalid config" in done.stderr


def test_a_font_without_chinese_is_refused_by_name(config_path, tmp_path):
    text = config_path.read_text("utf-8").replace("countdown_s = 10", f'countdown_s = 10\nfont = "{ROBOTO}"')
    latin = tmp_path / "latin.toml"
    latin.write_text(text, "utf-8")
    done = kiosk("--config", str(latin), "ui", "--offscreen", tmp_path=tmp_path)
    assert done.returncode == 2 and "Roboto-Regular.ttf" in done.stderr and "Chinese" in done.stderr
    assert not draws_chinese(ROBOTO)
    with pytest.raises(NoCjkFont):
        find_cjk_font(str(tmp_path / "missing.ttc"))


def test_the_installed_cjk_font_is_found_and_draws_chinese():
    font = find_cjk_font()
    assert str(font) in KNOWN_CJK_FONTS and draws_chinese(font)


def test_an_unknown_camera_kind_names_the_kinds_there_are(config_path, tmp_path):
    done = kiosk("--config", str(config_path), "ui", "--offscreen", "--camera", "webcam9", tmp_path=tmp_path)
    assert done.returncode == 2 and "webcam9" in done.stderr and "device" in done.stderr and "synthetic" in done.stderr


def test_the_kiosk_opens_its_window_and_stays_up_until_stopped(config_path, tmp_path):
    """`kiosk ui --offscreen --camera synthetic` as a terminal's service starts it: up, speaking
    prompts into its cache, until SIGTERM stops it cleanly."""
    env = {**os.environ, "KIOSK_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen([sys.executable, "-m", "terminal_app", "--config", str(config_path), "ui",
                                "--offscreen", "--camera", "synthetic"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        cache = tmp_path / "data" / "voice-cache"
        while time.monotonic() < deadline and len(list(cache.glob("*.wav"))) < 5:
            assert process.poll() is None, process.communicate()[1][-2000:]
            time.sleep(0.5)
        assert process.poll() is None
        assert len(list(cache.glob("*.wav"))) >= 5 or shutil.which("espeak-ng") is None
        process.terminate()  # SIGTERM, as systemd stops a service: the kiosk refuses a window close, not this
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
