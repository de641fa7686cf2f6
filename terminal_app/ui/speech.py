"""Spoken prompts, offline: every instruction and each screen's main line, in the kiosk's
language, by Debian's espeak-ng (its Mandarin voice `cmn`). The prompt set is fixed (the message
catalogue), so it is synthesised once into a cache of WAV files, on a thread of its own at start,
and a prompt is only ever played from there: nothing is synthesised when it is needed, and a
prompt not yet in the cache is skipped, not waited for."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from terminal_app.core import message_catalogue as mc

log = logging.getLogger(__name__)
ESPEAK = "espeak-ng"
RATE_WPM = 140  # a little slower than espeak's 175: many listeners are elderly
PARAMETER_FREE = ("screen", "reason")


def prompt_texts(language: str) -> list[str]:
    """Every line the kiosk may speak: the screens' spoken lines and every reason's words (those
    with parameters are spoken as filled in, and synthesised when first filled)."""
    texts = []
    for table in PARAMETER_FREE:
        for key in mc.catalogue(mc.PRIMARY).get(table, {}):
            if table == "screen" and not key.endswith("_spoken"):
                continue
            text = mc.words(language, table, key)
            if not mc.placeholders(text):
                texts.append(text)
    return texts


class PromptVoice:
    """The cache of spoken prompts in `folder`, and the player. `play` is given the WAV path (the
    app plays it through its audio device); `say` never blocks on synthesis."""

    def __init__(self, folder: Path, *, voice: str = "cmn", enabled: bool = True, play: Callable[[Path], None]):
        self.folder = folder
        self.voice = voice
        self.enabled = enabled and shutil.which(ESPEAK) is not None
        self.muted = False
        self.spoken: list[str] = []  # what was said, in order (the screens' tests read it)
        self._play = play
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: set[str] = set()  # texts being synthesised now
        if enabled and not self.enabled:
            log.warning("espeak-ng is not installed: the kiosk will not speak")

    def path_for(self, text: str) -> Path:
        digest = hashlib.sha256(f"{self.voice}\n{RATE_WPM}\n{text}".encode()).hexdigest()[:24]
        return self.folder / f"{digest}.wav"

    def prepare(self, texts: Iterable[str]) -> threading.Thread | None:
        """Synthesise every text not yet cached, on a background thread (returned, for tests)."""
        if not self.enabled:
            return None
        todo = [text for text in dict.fromkeys(texts) if not self.path_for(text).exists()]
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._thread = threading.Thread(target=self._synthesise_all, args=(todo,), name="kiosk-voice", daemon=True)
        self._thread.start()
        return self._thread

    def _synthesise_all(self, texts: list[str]) -> None:
        for text in texts:
            self.synthesise(text)

    def synthesise(self, text: str) -> Path | None:
        path = self.path_for(text)
        if path.exists():
            return path
        with self._lock:
            if text in self._pending:
                return None
            self._pending.add(text)
        partial = path.with_suffix(f".{threading.get_ident()}.part")
        try:
            subprocess.run(
                [ESPEAK, "-v", self.voice, "-s", str(RATE_WPM), "-w", str(partial), "--", text],
                check=True,
                capture_output=True,
                timeout=30,
            )
            partial.replace(path)
        except (OSError, subprocess.SubprocessError) as failed:
            log.warning("espeak-ng could not speak a prompt: %s", failed)
            return None
        finally:
            with self._lock:
                self._pending.discard(text)
        return path

    def say(self, text: str) -> bool:
        """Speak `text` if it is cached and the kiosk is not muted; a filled-in line not cached yet
        is queued for synthesis (off this thread) and spoken next time. True if it was played."""
        self.spoken.append(text)
        if not self.enabled or self.muted or not text:
            return False
        path = self.path_for(text)
        if not path.exists():
            threading.Thread(target=self.synthesise, args=(text,), daemon=True).start()
            return False
        try:
            self._play(path)
        except Exception:  # a sound device that fails must not stop the screens
            log.exception("could not play a prompt")
            return False
        return True
