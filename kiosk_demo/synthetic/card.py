"""Synthetic second-generation resident ID cards (第二代居民身份证), drawn by the project for
tests, benchmarks and the demo. No real person's card is anywhere in the repository.

Both sides are drawn at the canonical size the reader works on: 85.6 x 54 mm at `PX_PER_MM`
pixels per millimetre, fields where the card prints them (portrait side: 姓名, 性别, 民族,
出生, 住址 over one to three lines, 公民身份号码, the photo; emblem side: the title, 签发机关,
有效期限, which may end in 长期). The printed birth date and sex agree with the number, whose
check character is right unless a test asks otherwise. Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from county_common.regions import lookup_region
from kiosk_demo.synthetic.people import SyntheticPerson, make_people
from terminal_app.capture.card_spec import CARD_PX, ETHNIC_GROUPS, LONG_TERM, PORTRAIT_MM, PX_PER_MM

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
)

PLACE_CHARACTERS = "东西南北上下大小新老青石桥河山坪坝岭沟湾田家寨营关口塘林花树竹桃李杨柏松泉溪水龙凤金银"

LABEL_COLOUR = (22, 110, 170)
TEXT_COLOUR = (20, 20, 20)


class FontMissing(RuntimeError):
    """No CJK font is installed (Debian: fonts-wqy-microhei)."""


@cache
def _font_path() -> str:
    for path in FONT_PATHS:
        if Path(path).is_file():
            return path
    raise FontMissing(f"no CJK font found at {', '.join(FONT_PATHS)}: apt install fonts-wqy-microhei")


@cache
def font(size_mm: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_path(), round(size_mm * PX_PER_MM))


@dataclass(frozen=True)
class CardFace:
    """What is printed on one synthetic card: both sides."""

    name: str
    sex: str  # "M" / "F"
    ethnicity: str
    birth_date: date
    address_lines: tuple[str, ...]
    id_number: str
    authority: str
    valid_from: date
    valid_to: date | str  # a date, or LONG_TERM

    @property
    def address(self) -> str:
        return "".join(self.address_lines)

    @property
    def sex_zh(self) -> str:
        return "男" if self.sex == "M" else "女"

    def expected_fields(self, side: str) -> dict[str, str]:
        """The fields a perfect reader returns for this side, as `kiosk idcard read` prints them."""
        if side == "front":
            return {
                "name": self.name,
                "sex": self.sex_zh,
                "ethnicity": self.ethnicity,
                "birth_date": self.birth_date.isoformat(),
                "address": self.address,
                "id_number": self.id_number,
            }
        valid_to = self.valid_to if isinstance(self.valid_to, str) else self.valid_to.isoformat()
        return {"authority": self.authority, "valid_from": self.valid_from.isoformat(), "valid_to": valid_to}


def _place(rng: random.Random, suffix: str) -> str:
    return "".join(rng.choice(PLACE_CHARACTERS) for _ in range(2)) + suffix


def _address(rng: random.Random, region_code: str) -> tuple[str, ...]:
    """A rural address, wrapped at 11 characters a line as the card prints it (1 to 3 lines)."""
    region = lookup_region(region_code)
    assert region is not None
    text = region.address_prefix + _place(rng, rng.choice("镇乡")) + _place(rng, "村")
    if rng.random() < 0.7:
        text += f"{rng.randrange(1, 13)}组"
    text += f"{rng.randrange(1, 200)}号"
    width = 11
    return tuple(text[i : i + width] for i in range(0, len(text), width))[:3]


def _years_after(day: date, years: int) -> date:
    """The same day `years` later (29 February: the 28th)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _validity(rng: random.Random, birth: date, today: date) -> tuple[date, date | str]:
    """A card in force today: issued at 16 or later; valid 10 years if issued at 16–25, 20 years
    at 26–45, for life (长期) at 46 or older."""
    sixteen = birth + timedelta(days=16 * 366)
    for _ in range(20):
        issued = today - timedelta(days=rng.randrange(1, 20 * 365))
        if issued < sixteen:
            continue
        age = (issued - birth).days // 365
        if age >= 46:
            return issued, LONG_TERM
        years = 10 if age <= 25 else 20
        end = _years_after(issued, years)
        if end > today:
            return issued, end
    issued = max(sixteen, today - timedelta(days=30))
    return issued, _years_after(issued, 10)


def card_for(person: SyntheticPerson, rng: random.Random, today: date) -> CardFace:
    region = lookup_region(person.region_code)
    assert region is not None
    valid_from, valid_to = _validity(rng, person.birth_date, today)
    return CardFace(
        name=person.name,
        sex=person.sex,
        ethnicity=rng.choices(ETHNIC_GROUPS, weights=[40] + [1] * (len(ETHNIC_GROUPS) - 1))[0],
        birth_date=person.birth_date,
        address_lines=_address(rng, person.region_code),
        id_number=person.id_number,
        authority=f"{region.name}公安局",
        valid_from=valid_from,
        valid_to=valid_to,
    )


def make_cards(count: int, *, seed: int, today: date, county: str | None = None) -> list[CardFace]:
    rng = random.Random(seed * 7919 + 1)
    return [card_for(p, rng, today) for p in make_people(count, seed=seed, today=today, county=county)]


# --- drawing ------------------------------------------------------------------------------------


def _mm(x: float, y: float) -> tuple[int, int]:
    return round(x * PX_PER_MM), round(y * PX_PER_MM)


def _background(rng: random.Random, tint: tuple[int, int, int]) -> Image.Image:
    """A pale card with a fine wave pattern, the way the printed security background looks to a camera."""
    width, height = CARD_PX
    image = Image.new("RGB", CARD_PX, tint)
    draw = ImageDraw.Draw(image)
    phase = rng.random() * 6.28
    import math

    for row in range(0, height, 9):
        points = [(x, row + 3 * math.sin(x / 23 + phase + row / 40)) for x in range(0, width + 8, 8)]
        draw.line(points, fill=tuple(max(0, c - 14) for c in tint), width=1)
    return image


def _portrait(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A drawn head and shoulders on the card's pale ground: a stand-in photo with a face's layout."""
    width, height = size
    image = Image.new("RGB", size, (236, 240, 243))
    draw = ImageDraw.Draw(image)
    skin = rng.choice([(224, 187, 160), (210, 170, 140), (236, 200, 175), (190, 150, 120)])
    hair = rng.choice([(25, 22, 20), (45, 35, 30), (70, 60, 55)])
    draw.ellipse((width * 0.12, height * 0.78, width * 0.88, height * 1.3), fill=(60, 70, 90))  # shoulders
    draw.rectangle((width * 0.42, height * 0.62, width * 0.58, height * 0.82), fill=skin)  # neck
    head = (width * 0.25, height * 0.16, width * 0.75, height * 0.7)
    draw.ellipse((head[0] - 3, head[1] - 10, head[2] + 3, head[3] - 40), fill=hair)
    draw.ellipse(head, fill=skin)
    eye_y = height * 0.4
    for ex in (0.39, 0.61):
        draw.ellipse((width * ex - 6, eye_y - 3, width * ex + 6, eye_y + 3), fill=(30, 30, 30))
    draw.line((width * 0.5, eye_y + 8, width * 0.48, height * 0.52), fill=tuple(c - 40 for c in skin), width=2)
    draw.arc((width * 0.42, height * 0.52, width * 0.58, height * 0.62), 20, 160, fill=(150, 60, 60), width=3)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def draw_front(card: CardFace, rng: random.Random | None = None, photo: Image.Image | None = None) -> Image.Image:
    """The portrait side (人像面) at the canonical size; `photo` (a head and shoulders, any size)
    is printed in the photo area, else a drawn stand-in is."""
    rng = rng or random.Random(card.id_number)
    image = _background(rng, (236, 242, 240))
    draw = ImageDraw.Draw(image)
    label, value, number = font(2.4), font(3.0), font(3.5)
    draw.text(_mm(6.5, 6.0), "姓名", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(16.5, 5.6), card.name, font=value, fill=TEXT_COLOUR)
    draw.text(_mm(6.5, 13.0), "性别", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(16.5, 12.6), card.sex_zh, font=value, fill=TEXT_COLOUR)
    draw.text(_mm(27.0, 13.0), "民族", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(36.0, 12.6), card.ethnicity, font=value, fill=TEXT_COLOUR)
    draw.text(_mm(6.5, 20.0), "出生", font=label, fill=LABEL_COLOUR)
    birth = card.birth_date
    draw.text(_mm(16.5, 19.6), f"{birth.year}", font=value, fill=TEXT_COLOUR)
    draw.text(_mm(25.8, 20.0), "年", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(30.0, 19.6), f"{birth.month}", font=value, fill=TEXT_COLOUR)
    draw.text(_mm(34.5, 20.0), "月", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(38.5, 19.6), f"{birth.day}", font=value, fill=TEXT_COLOUR)
    draw.text(_mm(43.0, 20.0), "日", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(6.5, 27.0), "住址", font=label, fill=LABEL_COLOUR)
    for i, line in enumerate(card.address_lines):
        draw.text(_mm(16.5, 26.6 + 4.6 * i), line, font=value, fill=TEXT_COLOUR)
    draw.text(_mm(6.5, 45.5), "公民身份号码", font=label, fill=LABEL_COLOUR)
    draw.text(_mm(26.0, 44.8), card.id_number, font=number, fill=TEXT_COLOUR)
    left, top = _mm(*PORTRAIT_MM[:2])
    right, bottom = _mm(*PORTRAIT_MM[2:])
    size = (right - left, bottom - top)
    image.paste(_printed(photo, size) if photo is not None else _portrait(rng, size), (left, top))
    return image


def _printed(photo: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A photo as the card's printer renders it: fitted to the area, paler and a little soft."""
    fitted = photo.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    faded = Image.blend(fitted, Image.new("RGB", size, (236, 240, 243)), 0.12)
    return faded.filter(ImageFilter.GaussianBlur(0.5))




def draw_back(card: CardFace, rng: random.Random | None = None) -> Image.Image:
    """The emblem side (国徽面) at the canonical size."""
    rng = rng or random.Random(card.id_number + "back")
    image = _background(rng, (240, 240, 232))
    draw = ImageDraw.Draw(image)
    centre, radius = _mm(13.0, 12.5), 8.0 * PX_PER_MM  # the emblem: a red disc with gold rings and stars
    draw.ellipse((centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius), fill=(200, 30, 40))
    for ring in (0.8, 0.55):
        r = radius * ring
        draw.ellipse((centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r), outline=(240, 200, 60), width=3)
    draw.text(_mm(27.0, 6.5), "中华人民共和国", font=font(4.2), fill=TEXT_COLOUR)
    draw.text(_mm(27.0, 14.0), "居民身份证", font=font(6.2), fill=TEXT_COLOUR)
    draw.text(_mm(15.0, 40.0), "签发机关", font=font(2.4), fill=TEXT_COLOUR)
    draw.text(_mm(31.0, 39.6), card.authority, font=font(3.0), fill=TEXT_COLOUR)
    draw.text(_mm(15.0, 46.5), "有效期限", font=font(2.4), fill=TEXT_COLOUR)
    start = f"{card.valid_from:%Y.%m.%d}"
    end = card.valid_to if isinstance(card.valid_to, str) else f"{card.valid_to:%Y.%m.%d}"
    draw.text(_mm(31.0, 46.1), f"{start}-{end}", font=font(3.0), fill=TEXT_COLOUR)
    return image
