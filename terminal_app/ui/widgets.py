"""The kiosk's building blocks: large words and buttons that follow the large-text mode, the step
bar, the camera preview with its guide and what the engine found, a challenge's icon, a progress
ring, a numeric keypad and a QR code. Each interactive widget carries a `tag` (what it does),
which the screens' tests touch it by. No rule or check lives here."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from kivy.app import App
from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.metrics import sp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.togglebutton import ToggleButton
from kivy.uix.widget import Widget

INK = (0.11, 0.12, 0.14, 1)
PAPER = (0.97, 0.96, 0.93, 1)
BLUE = (0.09, 0.36, 0.72, 1)
GREEN = (0.10, 0.52, 0.29, 1)
RED = (0.74, 0.16, 0.14, 1)
GREY = (0.55, 0.55, 0.55, 1)
PALE = (0.86, 0.88, 0.92, 1)
OUTLINE_KEPT_S = 0.4


def scale() -> float:
    app = App.get_running_app()
    return float(getattr(app, "text_scale", 1.0)) if app else 1.0


class _Scaled:
    """Font size `size` (sp) times the app's text scale, following it when it changes."""

    def _follow_scale(self, size: float) -> None:
        self._base_size = size
        app = App.get_running_app()
        self._apply_scale()
        if app is not None:
            app.bind(text_scale=lambda *_: self._apply_scale())

    def _apply_scale(self) -> None:
        self.font_size = sp(self._base_size) * scale()


class Words(_Scaled, Label):
    """Text that wraps to its width and grows in large-text mode."""

    def __init__(self, text: str = "", size: float = 24, color=INK, bold: bool = False, halign: str = "center", **kw):
        super().__init__(text=text, color=color, bold=bold, halign=halign, valign="middle", **kw)
        self._follow_scale(size)
        self.bind(size=lambda *_: setattr(self, "text_size", (self.width, None)))


class BigButton(_Scaled, Button):
    tag = StringProperty("")

    def __init__(self, text: str, tag: str, *, on_press: Callable[[], None] | None = None, size: float = 30,
                 color=BLUE, **kw):  # fmt: skip
        kw.setdefault("background_normal", "")
        kw.setdefault("background_disabled_normal", "")
        super().__init__(text=text, background_color=color, color=(1, 1, 1, 1), halign="center", **kw)
        self.tag = tag
        self._follow_scale(size)
        self.bind(size=lambda *_: setattr(self, "text_size", (self.width - 16, None)))
        self.bind(disabled=lambda *_: setattr(self, "opacity", 0.35 if self.disabled else 1.0))
        if on_press is not None:
            self.bind(on_release=lambda *_: on_press())


class Choice(_Scaled, ToggleButton):
    """One answer of several: the chosen one stands out."""

    tag = StringProperty("")
    value = None

    def __init__(self, text: str, tag: str, value: object, group: str, *, on_pick: Callable[[object], None],
                 size: float = 24, mark: str = "", **kw):  # fmt: skip
        super().__init__(text=text + (f"\n[{mark}]" if mark else ""), group=group, allow_no_selection=False,
                         background_normal="", background_down="", halign="center", **kw)  # fmt: skip
        self.tag, self.value = tag, value
        self._follow_scale(size)
        self._paint()
        self.bind(state=lambda *_: self._paint())
        self.bind(size=lambda *_: setattr(self, "text_size", (self.width - 12, None)))
        self.bind(on_release=lambda *_: on_pick(value))

    def _paint(self) -> None:
        chosen = self.state == "down"
        self.background_color = BLUE if chosen else PALE
        self.color = (1, 1, 1, 1) if chosen else INK


class StepBar(BoxLayout):
    """Where the applicant is: the steps' names, the current one marked."""

    current = NumericProperty(-1)

    def __init__(self, names: Sequence[str], **kw):
        super().__init__(orientation="horizontal", spacing=4, **kw)
        self._labels = [Words(f"{i + 1} {name}", size=18) for i, name in enumerate(names)]
        for label in self._labels:
            self.add_widget(label)
        self.bind(current=lambda *_: self._paint())
        self._paint()

    def _paint(self) -> None:
        for i, label in enumerate(self._labels):
            label.bold = i == self.current
            label.color = BLUE if i == self.current else (INK if i < self.current else GREY)


def bgr_texture(image: np.ndarray, texture: Texture | None) -> Texture:
    """`image` (BGR, top row first) in a texture, reusing `texture` when the size is the same."""
    height, width = image.shape[:2]
    if texture is None or texture.size != (width, height):
        texture = Texture.create(size=(width, height), colorfmt="bgr")
        texture.flip_vertical()
    texture.blit_buffer(np.ascontiguousarray(image).tobytes(), colorfmt="bgr", bufferfmt="ubyte")
    return texture


class CameraView(Widget):
    """The camera's picture (fitted, mirrored for a face so it moves as a mirror does), the guide
    (a card's frame or a face's oval) and what the engine found (the card's outline, green)."""

    guide = StringProperty("card")  # "card" or "face"
    frames_shown = NumericProperty(0)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._texture: Texture | None = None
        self._frame_size = (640, 480)
        self._outline: np.ndarray | None = None
        self._outline_at = 0.0
        self.bind(size=lambda *_: self._draw(), pos=lambda *_: self._draw(), guide=lambda *_: self._draw())

    def show(self, image: np.ndarray, outline: np.ndarray | None = None) -> None:
        """A frame; `outline` the card found in it. The capture checks only the frames it has time
        for, so an outline stays drawn over the frames after it for OUTLINE_KEPT_S."""
        self._texture = bgr_texture(image, self._texture)
        self._frame_size = (image.shape[1], image.shape[0])
        now = time.monotonic()
        if outline is not None:
            self._outline, self._outline_at = outline, now
        elif now - self._outline_at > OUTLINE_KEPT_S:
            self._outline = None
        self.frames_shown += 1
        self._draw()

    def clear(self) -> None:
        self._texture, self._outline = None, None
        self._draw()

    def _fit(self) -> tuple[float, float, float, float]:
        fw, fh = self._frame_size
        k = min(self.width / fw, self.height / fh)
        w, h = fw * k, fh * k
        return self.x + (self.width - w) / 2, self.y + (self.height - h) / 2, w, h

    def _draw(self) -> None:
        x, y, w, h = self._fit()
        self.canvas.clear()
        with self.canvas:
            Color(0.15, 0.15, 0.17, 1)
            Rectangle(pos=(x, y), size=(w, h))
            if self._texture is not None:
                Color(1, 1, 1, 1)
                coords = self._texture.tex_coords
                if self.guide == "face":  # a mirror: the applicant's left is on the screen's left
                    u0, v0, u1, v1, u2, v2, u3, v3 = coords
                    coords = (u1, v0, u0, v1, u3, v2, u2, v3)
                Rectangle(texture=self._texture, pos=(x, y), size=(w, h), tex_coords=coords)
            Color(1, 1, 1, 0.85)
            if self.guide == "face":
                Line(ellipse=(x + w * 0.3, y + h * 0.12, w * 0.4, h * 0.76), width=3)
            else:
                Line(rectangle=(x + w * 0.1, y + h * 0.12, w * 0.8, h * 0.76), width=2, dash_length=12, dash_offset=8)
            if self._outline is not None and len(self._outline) == 4:
                fw, fh = self._frame_size
                points = []
                for px, py in self._outline:
                    points += [x + px / fw * w, y + h - py / fh * h]
                Color(*GREEN)
                Line(points=points, close=True, width=4)


class ChallengeIcon(Widget):
    """The current challenge drawn as a picture: an eye closing, an arrow, a nodding head, a mouth."""

    kind = StringProperty("")

    def __init__(self, **kw):
        super().__init__(**kw)
        self.bind(kind=lambda *_: self._draw(), size=lambda *_: self._draw(), pos=lambda *_: self._draw())

    def _draw(self) -> None:
        self.canvas.clear()
        if not self.kind:
            return
        cx, cy, r = self.center_x, self.center_y, min(self.width, self.height) * 0.4
        with self.canvas:
            Color(*BLUE)
            if self.kind == "blink":
                Line(ellipse=(cx - r, cy - r * 0.5, 2 * r, r), width=4)
                Line(points=[cx - r, cy, cx + r, cy], width=6)
            elif self.kind in ("turn_left", "turn_right"):
                d = -1 if self.kind == "turn_left" else 1
                Line(points=[cx - d * r, cy, cx + d * r, cy], width=8)
                Line(points=[cx + d * r * 0.4, cy + r * 0.5, cx + d * r, cy, cx + d * r * 0.4, cy - r * 0.5], width=8)
            elif self.kind == "nod":
                Line(points=[cx, cy + r, cx, cy - r], width=8)
                Line(points=[cx - r * 0.5, cy - r * 0.4, cx, cy - r, cx + r * 0.5, cy - r * 0.4], width=8)
                Line(points=[cx - r * 0.5, cy + r * 0.4, cx, cy + r, cx + r * 0.5, cy + r * 0.4], width=8)
            else:  # open_mouth
                Line(ellipse=(cx - r * 0.6, cy - r * 0.8, r * 1.2, r * 1.6), width=6)


class ProgressRing(Widget):
    done = NumericProperty(0)
    total = NumericProperty(1)

    def __init__(self, **kw):
        super().__init__(**kw)
        for name in ("done", "total", "size", "pos"):
            self.bind(**{name: lambda *_: self._draw()})

    def _draw(self) -> None:
        self.canvas.clear()
        r = min(self.width, self.height) * 0.42
        with self.canvas:
            Color(*PALE)
            Line(circle=(self.center_x, self.center_y, r), width=8)
            Color(*GREEN)
            angle = 360 * self.done / max(1, self.total)
            if angle > 0:
                Line(circle=(self.center_x, self.center_y, r, 0, angle), width=8)


class Keypad(GridLayout):
    """Digits 0-9, delete and clear, in big keys; `typed` holds what was entered (at most `limit`)."""

    typed = StringProperty("")

    def __init__(self, *, limit: int, delete: str, clear: str, **kw):
        super().__init__(cols=3, spacing=8, **kw)
        self.limit = limit
        for key in "123456789":
            self.add_widget(BigButton(key, f"key-{key}", on_press=lambda k=key: self._press(k), size=36))
        self.add_widget(BigButton(clear, "key-clear", on_press=lambda: setattr(self, "typed", ""), size=26, color=GREY))
        self.add_widget(BigButton("0", "key-0", on_press=lambda: self._press("0"), size=36))
        self.add_widget(BigButton(delete, "key-delete", on_press=lambda: setattr(self, "typed", self.typed[:-1]),
                                  size=26, color=GREY))  # fmt: skip

    def _press(self, key: str) -> None:
        if len(self.typed) < self.limit:
            self.typed += key


class QrCode(Widget):
    """`data` as a QR code (segno), drawn in black squares on white with its quiet zone."""

    data = StringProperty("")

    def __init__(self, **kw):
        super().__init__(**kw)
        self._texture: Texture | None = None
        self._texture_of = ""
        self.bind(data=lambda *_: self._draw(), size=lambda *_: self._draw(), pos=lambda *_: self._draw())

    def _draw(self) -> None:
        self.canvas.clear()
        if not self.data:
            return
        if self._texture_of != self.data:
            import segno

            dark = np.array(list(segno.make(self.data, error="m", micro=False).matrix_iter(border=4)), bool)
            pixels = np.where(dark, 0, 255).astype(np.uint8)[::-1]  # one texel a module, bottom row first
            self._texture = Texture.create(size=(pixels.shape[1], pixels.shape[0]), colorfmt="luminance")
            self._texture.blit_buffer(pixels.tobytes(), colorfmt="luminance", bufferfmt="ubyte")
            self._texture.mag_filter = "nearest"  # sharp modules at any size
            self._texture_of = self.data
        side = min(self.width, self.height)
        with self.canvas:
            Color(1, 1, 1, 1)
            corner = (self.center_x - side / 2, self.center_y - side / 2)
            Rectangle(texture=self._texture, pos=corner, size=(side, side))


class Panel(BoxLayout):
    """A column with the kiosk's paper behind it."""

    shaded = BooleanProperty(False)

    def __init__(self, **kw):
        kw.setdefault("orientation", "vertical")
        kw.setdefault("padding", 24)
        kw.setdefault("spacing", 16)
        super().__init__(**kw)
