"""Liveness: the preview (mirrored) with a face oval, the current challenge as an icon, a word
and a voice, a ring that fills as the challenges are done, and the reason named when it fails."""

from __future__ import annotations

from terminal_app.core import message_catalogue as mc
from terminal_app.core.events import Progress
from terminal_app.core.reasons import Reason
from terminal_app.ui.screens.camera_step import CameraStepScreen
from terminal_app.ui.widgets import ChallengeIcon, ProgressRing, Words


class FaceScreen(CameraStepScreen):
    spoken_key = "face_spoken"
    guide = "face"

    def __init__(self, app, **kw):
        super().__init__(app, name="face", **kw)
        self.icon = ChallengeIcon(size_hint_y=0.2)
        self.ring = ProgressRing(size_hint_y=0.12)
        self.progress = Words("", size=20, size_hint_y=0.06)
        self._lay_out("face_title", "face_hint", [self.icon, self.ring, self.progress])

    def _reset(self) -> None:
        super()._reset()
        self.icon.kind = self.progress.text = ""
        self.ring.done, self.ring.total = 0, 1

    def _why(self, error: Reason) -> list[str]:
        """The check's own reason too ("光线太暗", "请把整张脸移到画面里"), when it names one."""
        lines = super()._why(error)
        detail = dict(error.params).get("detail")
        named = detail and mc.render(self.app.language, "reason", detail, {})
        return [*lines, named] if named else lines

    def on_event(self, event: object) -> None:
        if isinstance(event, Progress):
            self.icon.kind = event.label
            self.ring.total, self.ring.done = event.total, event.done
            self.progress.text = self.t("challenge_progress", done=event.done + 1, total=event.total)
        else:
            super().on_event(event)

    def refresh(self, state) -> None:
        super().refresh(state)
        self.icon.kind = ""
