"""From OCR lines on a rectified card to the card's fields, by the card's layout.

Every line is placed by its centre in millimetres on the 85.6 x 54 mm card; each field is read
from its own band (name, sex and ethnicity, birth date, address lines, number; on the emblem
side the authority and the validity period). Labels the OCR merged into a value are stripped;
the address lines are joined top to bottom. Which side, and whether the card is upside down,
is decided from where the fixed labels sit. The number is normalised (O/0, I/1, x/X) and then
validated by the core's identity rules, with the printed birth date and sex checked against it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import cv2
import numpy as np

from county_common.regions import county_codes, lookup_region
from terminal_app.capture.card_spec import CARD_MM, ETHNIC_GROUPS, LONG_TERM
from terminal_app.capture.ocr import OcrLine
from terminal_app.core.id_number import printed_field_mismatches, validate_id_number

FRONT_MARKS = ("公民身份号码", "姓名", "性别", "民族", "出生", "住址")
BACK_MARKS = ("中华人民共和国", "居民身份证", "签发机关", "有效期限")
SEX = {"男": "M", "女": "F"}
LINE_MM = 2.5  # address lines are 4.6 mm apart
# 民族's centre right of the left edge of a line that runs it into its value (民族汉): a label's
# characters print 2.4 mm wide, and the box is padded beyond the ink (measured as ANCHORS are)
MERGED_LABEL_CENTRE_MM = 3.0
FIT_MM = 1.5  # a label this far from where the transform puts it is an outlier
AFFINE_GAIN_MM = 0.3  # how much better (mean mm) a full affine must fit the labels than a similarity
_NUMBER_FIXES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "x": "X"})


@dataclass(frozen=True)
class Placed:
    text: str
    x: float  # centre, mm from the card's left edge
    y: float  # centre, mm from the top
    left: float  # mm
    score: float

    @property
    def right(self) -> float:
        return 2 * self.x - self.left


@dataclass
class FieldError:
    field: str
    code: str
    message: str

    def as_json(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class CardFields:
    side: str  # front | back | unknown
    fields: dict[str, str]
    errors: list[FieldError] = field(default_factory=list)
    upside_down: bool = False
    to_printed: np.ndarray | None = field(default=None, repr=False)  # `alignment`'s transform, mm to mm


def place(lines: list[OcrLine], width_px: float, height_px: float) -> list[Placed]:
    sx, sy = CARD_MM[0] / width_px, CARD_MM[1] / height_px
    out = []
    for line in lines:
        x, y = line.centre
        out.append(Placed(line.text.strip(), x * sx, y * sy, line.left * sx, line.score))
    return out


def _flip(placed: list[Placed]) -> list[Placed]:
    width, height = CARD_MM
    return [Placed(p.text, width - p.x, height - p.y, width - p.left - 2 * (p.x - p.left), p.score) for p in placed]


# Where each printed label's centre sits on a card (mm), measured from the drawn cards' OCR with
# the detector at `ocr.DET_SIDE_PX` (its boxes move by a few tenths of a millimetre with that size).
ANCHORS = {
    "front": {"姓名": (8.9, 7.35), "性别": (9.0, 14.4), "民族": (29.6, 14.45), "出生": (8.95, 21.4),
              "住址": (8.95, 28.4), "公民身份号码": (13.75, 46.95)},
    "back": {"中华人民共和国": (41.7, 8.95), "居民身份证": (42.6, 17.68), "签发机关": (19.9, 41.45),
             "有效期限": (19.9, 48.0)},
}  # fmt: skip


def alignment(placed: list[Placed], side: str) -> np.ndarray | None:
    """How an imperfect rectification (a corner hidden by a thumb, a rounded corner taken for
    the edge) is undone, from the labels the OCR found, alone or at the start of a line: a 2 x 3
    transform, millimetres where they are to where the card prints them, fitted robustly. A
    similarity (shift, turn, scale) from two labels or more; a full affine transform only from
    three or more spread over the card, and only where it fits them `AFFINE_GAIN_MM` better: the
    labels lie in two columns a few millimetres tall, so a box drawn a little off (another
    recogniser's boxes sit closer to the ink) would otherwise be fitted as a stretch that moves
    far lines out of their rows. A shift from one label; None without one."""
    anchors = ANCHORS[side]
    found = [((p.x, p.y), anchors[p.text]) for p in placed if p.text in anchors]
    if side == "front" and not any(p.text == "民族" for p in placed):
        # 民族 run into its value (民族汉): the one label right of the left column, without which a
        # shear across the card cannot be fitted; its centre from the line's left edge
        merged = next((p for p in placed if p.text.startswith("民族") and len(p.text) > 2), None)
        if merged is not None:
            found.append(((merged.left + MERGED_LABEL_CENTRE_MM, merged.y), anchors["民族"]))
    if not found:
        return None
    source = np.array([xy for xy, _ in found], np.float32)
    target = np.array([xy for _, xy in found], np.float32)
    similarity = affine = None
    if len(found) >= 2:
        similarity, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=FIT_MM)
    if len(found) >= 3 and min(np.ptp(target, axis=0)) >= 10:  # labels in one column cannot fix a stretch across
        affine, _ = cv2.estimateAffine2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=FIT_MM)
    if affine is not None and (
        similarity is None or _misfit(affine, source, target) < _misfit(similarity, source, target) - AFFINE_GAIN_MM
    ):
        return affine
    if similarity is not None:
        return similarity
    shift = (target - source).mean(axis=0)
    return np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)


def _misfit(matrix: np.ndarray, source: np.ndarray, target: np.ndarray) -> float:
    """The mean distance (mm) the transform leaves between the labels and their anchors, each
    counted up to FIT_MM (a label read elsewhere is an outlier, not a worse fit)."""
    moved = source @ matrix[:, :2].T + matrix[:, 2]
    return float(np.minimum(np.linalg.norm(moved - target, axis=1), FIT_MM).mean())


def align(placed: list[Placed], matrix: np.ndarray | None) -> list[Placed]:
    """The lines moved by `alignment`'s transform."""
    if matrix is None:
        return placed
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))  # along x: for the left edges
    out = []
    for p in placed:
        x, y = matrix @ np.array([p.x, p.y, 1.0])
        out.append(Placed(p.text, float(x), float(y), float(x - (p.x - p.left) * scale), p.score))
    return out


def _joined(parts: list[Placed]) -> str:
    """The text of a band's lines in reading order. Where the detector split one printed run into
    two boxes that overlap by half a character or more, the character at the seam comes out of
    both (1993 and 3年9月11日): it is kept once."""
    text = ""
    before: Placed | None = None
    for p in parts:
        part = p.text
        if not part:
            continue
        if before is not None and before.text.endswith(part[0]) and abs(p.y - before.y) < LINE_MM:
            character = (before.right - before.left) / max(1, len(before.text))
            if before.right - p.left >= 0.5 * character:
                part = part[1:]
        text += part
        before = p
    return text


def _has(placed: list[Placed], mark: str) -> Placed | None:
    return next((p for p in placed if mark in p.text), None)


def orient(placed: list[Placed]) -> tuple[str, list[Placed], bool]:
    """(side, lines upright, was upside down). The number label sits low on the portrait side,
    the authority and validity labels low on the emblem side: found high, the card is turned."""
    front = sum(any(m in p.text for p in placed) for m in FRONT_MARKS)
    back = sum(any(m in p.text for p in placed) for m in BACK_MARKS)
    if max(front, back) < 2:
        return "unknown", placed, False
    side = "front" if front >= back else "back"
    anchors = ("公民身份号码", "住址") if side == "front" else ("有效期限", "签发机关")
    anchor = next((p for m in anchors if (p := _has(placed, m))), None)
    if anchor is not None and anchor.y < CARD_MM[1] / 2:
        return side, _flip(placed), True
    return side, placed, False


def _band(placed: list[Placed], top: float, bottom: float, left: float, right: float) -> list[Placed]:
    """The lines whose centres fall in the box, in reading order: top to bottom by printed line
    (centres within LINE_MM of each other share a line), left to right within a line."""
    inside = sorted((p for p in placed if top <= p.y < bottom and left <= p.x < right), key=lambda p: p.y)
    rows: list[list[Placed]] = []
    for p in inside:
        if rows and p.y - rows[-1][0].y < LINE_MM:
            rows[-1].append(p)
        else:
            rows.append([p])
    return [p for row in rows for p in sorted(row, key=lambda p: p.x)]


def _band_text(placed: list[Placed], top: float, bottom: float, left: float, right: float, label: str) -> str:
    """The text printed in the box (card mm), its lines joined in reading order, with its label
    and spaces left out."""
    return _strip(_joined(_band(placed, top, bottom, left, right)), label)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings only)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def dropped_from(read: str, name: str, most: int = 2) -> bool:
    """Whether `read` is `name` with one to `most` of its characters left out (and none changed),
    as the recogniser leaves out rare characters (郾, 傈僳) it cannot read."""
    if not read or not 0 < len(name) - len(read) <= most:
        return False
    rest = iter(name)
    return all(c in rest for c in read)


def snap(text: str, vocabulary: tuple[str, ...] | frozenset[str], prefer: str | None = None) -> str:
    """A closed-vocabulary field read with one wrong character (颍/颖) becomes the one entry it
    is that close to, if exactly one is, or `prefer` if several are and it is one of them;
    otherwise it stays as read."""
    if not text or text in vocabulary:
        return text
    near = [word for word in vocabulary if abs(len(word) - len(text)) <= 1 and _distance(word, text) <= 1]
    if len(near) > 1 and prefer in near:
        return prefer
    return near[0] if len(near) == 1 else text


# What the PP-OCRv4 recogniser makes of three of the 56 names, measured on clean renderings
# (bench_idcard's cards): 仫 is not in its dictionary, so 仫佬 comes out as 么佬, one edit from
# both 仫佬 and 仡佬, too close to snap; 仡佬 loses its 仡 and comes out as 佬, no group's name;
# 土 comes out as 士, no group's name either, one edit from every one-character name. Each read is
# nothing but that name.
ETHNICITY_MISREADS = {"么佬": "仫佬", "佬": "仡佬", "士": "土"}


def read_ethnicity(text: str) -> str:
    """The ethnicity as read, a known misread mapped to its name, then snapped to the 56."""
    return snap(ETHNICITY_MISREADS.get(text, text), ETHNIC_GROUPS)


# When the recogniser reads no group's name on the ethnicity's row (傈僳 comes out as nothing at
# all), the row is scored against each of the 56 names instead (OcrEngine.word_scores). 仫 is
# not in the recogniser's dictionary: 仫佬 is scored as what it reads it as.
ETHNICITY_SPELLINGS = {name: {"仫佬": "么佬"}.get(name, name) for name in ETHNIC_GROUPS}
# Only names as long as the row's ink is wide are scored: n characters of the 3 mm type span
# 2.95 n - 0.25 mm (measured: 2.2-2.9 mm for one, 5.2-6.0 for two, 7.9-9.1 for three). A row
# that fits no length (a name cut by glare or a thumb, or a blank) is not scored.
VALUE_ADVANCE_MM = 2.95
INK_TOLERANCE_MM = 0.8
# Of those, a name is taken when the recogniser finds it likely (log-likelihood; on clean and
# mild photographs the printed name scored -6.6 or better, 傈僳 included) and likelier than any
# other by a factor of e (傈僳's nearest two-character name was 1.3 or more behind).
NAME_MIN_LOG_LIKELIHOOD = -7.0
NAME_MIN_MARGIN = 1.0


def characters_spanning(width_mm: float) -> int | None:
    """How many value characters a row's ink `width_mm` wide holds, or None if no count fits."""
    count = round((width_mm + 0.25) / VALUE_ADVANCE_MM)
    fits = count >= 1 and abs(width_mm - (VALUE_ADVANCE_MM * count - 0.25)) <= INK_TOLERANCE_MM
    return count if fits else None


def ethnicity_candidates(ink_width_mm: float) -> dict[str, str]:
    """The groups whose names fit the row's ink, with their spelling for the recogniser."""
    count = characters_spanning(ink_width_mm)
    return {name: spelled for name, spelled in ETHNICITY_SPELLINGS.items() if len(name) == count}


def sex_candidates(ink_width_mm: float) -> dict[str, str]:
    """男 and 女 when the sex's row holds one character's ink, else none."""
    return {"男": "男", "女": "女"} if characters_spanning(ink_width_mm) == 1 else {}


def word_from_scores(candidates: dict[str, str], scores: dict[str, float]) -> str:
    """The candidate (an ethnic group's name, a sex) a row holds, from `word_scores` of the
    candidates' spellings, or "" when none is both likely and well ahead of the others."""
    ranked = sorted(((score, name) for name, spelled in candidates.items()
                     if (score := scores.get(spelled)) is not None), reverse=True)  # fmt: skip
    if not ranked or ranked[0][0] < NAME_MIN_LOG_LIKELIHOOD:
        return ""
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < NAME_MIN_MARGIN:
        return ""
    return ranked[0][1]


@cache
def _division_prefixes() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Every county-level division's address prefix (current and historical), by its first two
    characters (the province's, which the recogniser reads reliably): the counties', and the
    cities' whose county code is a placeholder (市辖区), which addresses may open with alone."""
    counties: dict[str, set[str]] = {}
    cities: dict[str, set[str]] = {}
    for code in county_codes(current_only=False):
        region = lookup_region(code)
        if region is None or len(prefix := region.address_prefix) < 4:
            continue
        placeholder = region.name in ("市辖区", "县")
        (cities if placeholder else counties).setdefault(prefix[:2], set()).add(prefix)
    return {
        key: (frozenset(counties.get(key, ())), frozenset(cities.get(key, ())))
        for key in counties.keys() | cities.keys()
    }


# a county-level name right after a city's (an autonomous county's is longer: 宁蒗彝族自治县)
_COUNTY_NEXT = re.compile(r"^(?:.{1,4}?[县区旗市]|.{1,10}?自治[县旗])")


def correct_division(address: str, number_division: str | None = None) -> str:
    """The address with its opening division names (province, prefecture, county) as the
    division table spells them, when the recogniser dropped or misread one or two of their
    characters — place names keep rare characters (郧, 涞, 潞, 邡, 畲) that it reads badly. The
    read text must end where the division's name ends (县, 市, 区 ...), and exactly one division
    may be that close; when several are, the one the ID number was issued in (`number_division`,
    its address prefix) if it is among them. An address that opens with a county's names, or
    with a city's followed by no county-level name, or close to none, or to several and not the
    number's, stays as read."""
    counties, cities = _division_prefixes().get(address[:2], (frozenset(), frozenset()))
    # a county-level city's name can open a longer division's (江苏省淮安市, 江苏省淮安市盱眙县):
    # only those longer ones are then candidates
    opening = max((prefix for prefix in counties if address.startswith(prefix)), key=len, default="")
    if not opening and any(
        address.startswith(city) and not _COUNTY_NEXT.match(address[len(city) :]) for city in cities
    ):
        return address
    if opening and not _COUNTY_NEXT.match(address[len(opening) :]):
        return address
    candidates = [prefix for prefix in counties if len(prefix) > len(opening) and prefix.startswith(opening)]
    chars = set(address[:24])
    found: dict[str, tuple[int, int]] = {}  # prefix -> (distance, characters of the address it covers)
    for prefix in candidates:
        if len(set(prefix) - chars) > 2:  # more than two of its characters are nowhere near: not it
            continue
        options = [
            (_distance(prefix, address[:n]), n)
            for n in range(len(prefix) - 2, len(prefix) + 3)
            if 0 < n <= len(address) and address[n - 1] == prefix[-1]
        ]
        if options and (best := min(options))[0] <= min(2, len(prefix) // 5):
            found[prefix] = best
    if not found:
        return address
    best = min(distance for distance, _ in found.values())
    closest = [prefix for prefix, (distance, _) in found.items() if distance == best]
    if len(closest) > 1 and number_division in closest:
        closest = [number_division]
    if len(closest) != 1:
        return address
    return closest[0] + address[found[closest[0]][1] :]


@cache
def county_names() -> frozenset[str]:
    """Every county-level name in the division table, current and historical."""
    return frozenset(r.name for code in county_codes(current_only=False) if (r := lookup_region(code)))


def _strip(text: str, *labels: str) -> str:
    for label in labels:
        text = text.replace(label, "")
    return re.sub(r"\s+", "", text)


def normalise_number(text: str) -> str:
    """The number line as 18 characters: look-alike letters fixed, label and spaces dropped."""
    text = _strip(text, "公民身份号码").translate(_NUMBER_FIXES).upper()
    return re.sub(r"[^0-9X]", "", text)


# The recogniser reads the surname 侯 as 候, no surname of the hundred families (a clean
# photograph of bench_idcard's card 230; two frames of one hold of bench_card_capture's medium
# cards 98 and 356 read alike, so the name was confirmed and accepted misread).
SURNAME_MISREADS = {"候": "侯"}


def read_name(text: str) -> str:
    """The name as read, a surname the recogniser is known to misread mapped to its own."""
    return SURNAME_MISREADS.get(text[:1], text[:1]) + text[1:]


_BIRTH_LINE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")


def read_front(placed: list[Placed], today: date, number: str | None = None) -> CardFields:
    fields: dict[str, str] = {}
    value_right = 53.0  # the photo starts at 54 mm
    fields["name"] = read_name(_band_text(placed, 4.0, 10.5, 13.0, value_right, "姓名"))
    line = _band_text(placed, 10.5, 17.0, 0.0, value_right, "性别")
    before, _, after = line.partition("民族")
    sex = re.search(r"男|女", before)
    fields["sex"] = sex.group(0) if sex else ""
    fields["ethnicity"] = read_ethnicity(after)
    birth_text = _band_text(placed, 17.0, 23.5, 13.0, value_right, "出生")
    address = _band_text(placed, 23.5, 41.0, 13.0, value_right, "住址")
    merged = _BIRTH_LINE.match(address)
    if merged and not _BIRTH_LINE.match(birth_text):  # the birth date's row run into the address's first
        birth_text, address = merged.group(0), address[merged.end() :]
    birth = re.search(r"(\d{4})\D*?(\d{1,2})\D*?(\d{1,2})", birth_text)
    birth_date = None
    if birth:
        with contextlib.suppress(ValueError):  # a misread day or month: reported as not read
            birth_date = date(int(birth.group(1)), int(birth.group(2)), int(birth.group(3)))
    fields["birth_date"] = birth_date.isoformat() if birth_date else ""
    number_text = _band_text(placed, 41.0, 54.0, 0.0, CARD_MM[0], "公民身份号码")
    fields["id_number"] = number or normalise_number(number_text)
    check = validate_id_number(fields["id_number"], today=today, min_age=0, max_age=200)
    fields["address"] = correct_division(address, check.region.address_prefix if check.valid and check.region else None)
    return CardFields("front", fields, front_errors(fields, today))


FRONT_FIELDS = ("name", "sex", "ethnicity", "birth_date", "address", "id_number")
BACK_FIELDS = ("authority", "valid_from", "valid_to")


def front_errors(fields: dict[str, str], today: date) -> list[FieldError]:
    """What is wrong with the portrait side's fields as read: a field missing, an ethnicity that
    is none of the 56, a number that does not validate, a birth date or sex that disagrees with
    the number."""
    errors = []
    for key in FRONT_FIELDS[:-1]:
        if not fields.get(key):
            errors.append(FieldError(key, "not_read", f"the {key.replace('_', ' ')} could not be read"))
    if fields.get("ethnicity") and fields["ethnicity"] not in ETHNIC_GROUPS:
        errors.append(FieldError("ethnicity", "not_read", f"{fields['ethnicity']!r} is not one of the 56 groups"))
    check = validate_id_number(fields.get("id_number", ""), today=today, min_age=0, max_age=200)
    if not check.valid:
        errors.append(FieldError("id_number", check.reason.code, check.reason.en))
    else:
        birth_date = date.fromisoformat(fields["birth_date"]) if fields.get("birth_date") else None
        for problem in printed_field_mismatches(check, birth_date=birth_date, sex=SEX.get(fields.get("sex", ""))):
            errors.append(FieldError(problem.code.removesuffix("_mismatch"), problem.code, problem.en))
    return errors


_DATE = re.compile(r"(\d{1,4})\.?(\d{2})\.?(\d{2})")
VALIDITY_YEARS = (5, 10, 20)  # a card is valid 5, 10 or 20 years from its issue, or long-term (长期)
AUTHORITY_SUFFIXES = ("公安局", "分局", "公安处")
_AUTHORITY_END = re.compile(r"^(.*(?:" + "|".join(AUTHORITY_SUFFIXES) + "))")  # up to the last suffix


def _dotted(text: str) -> tuple[str, int, int] | None:
    """(year as read, month, day) of a printed date; the year may have lost its first digits."""
    match = _DATE.fullmatch(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1 <= int(match.group(3)) <= 31:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3))


def _complete(year: str, month: int, day: int, other: date, sign: int, today: date) -> date | None:
    """A validity date whose year lost its first digits to glare or a thumb, taken from the
    other end of the period (`sign` +1: this is the end): the year ending in the digits read and
    making a period a card has (`is_validity_period`), and (for the start) not after today. Only
    when exactly one year fits."""
    found = []
    for years in VALIDITY_YEARS:
        candidate = other.year + sign * years
        if not str(candidate).endswith(year):
            continue
        with contextlib.suppress(ValueError):
            when = date(candidate, month, day)
            start, end = (other, when) if sign > 0 else (when, other)
            if is_validity_period(start, end) and (sign > 0 or when <= today):
                found.append(when)
    return found[0] if len(found) == 1 else None


def _full(parts: tuple[str, int, int] | None) -> date | None:
    if parts is None or len(parts[0]) != 4:
        return None
    try:
        return date(int(parts[0]), parts[1], parts[2])
    except ValueError:
        return None


def read_period(text: str, today: date) -> tuple[date | None, date | str | None]:
    """(valid from, valid to) from the validity line: the dates found by their pattern, whatever
    of the label (有效期限) the recogniser merged into them; "长期" for a long-term card. A year
    read short is completed only from the other date (`_complete`)."""
    text = text.translate(str.maketrans({"一": "-", "—": "-", "~": "-", "－": "-", ",": ".", "，": ".", "·": "."}))
    start_text, _, end_text = text.partition("-")
    start = _dotted(re.sub(r"^\D+", "", start_text))  # what is left of the label goes
    long_term = LONG_TERM in end_text or end_text == "长"
    end = None if long_term else _dotted(re.sub(r"[^\d.]+$", "", end_text))
    valid_from = _full(start)
    valid_to: date | str | None = LONG_TERM if long_term else _full(end)
    if valid_from is None and start is not None and isinstance(valid_to, date):
        valid_from = _complete(*start, valid_to, -1, today)
    if valid_to is None and end is not None and valid_from is not None:
        valid_to = _complete(*end, valid_from, +1, today)
    return valid_from, valid_to


def read_back(placed: list[Placed], today: date, county: str | None = None) -> CardFields:
    """`county`: the county the front's number was issued in, which breaks a tie when the
    authority's name is read one character off several counties' (激浦: 溆浦, 霞浦, 洛浦 ...), and
    is taken when the name read is it with one or two characters left out. An authority line
    the recogniser ran into the validity dates is split at the authority's end."""
    fields: dict[str, str] = {}
    authority = _band_text(placed, 36.5, 43.5, 26.0, CARD_MM[0], "签发机关")
    ended = _AUTHORITY_END.match(authority)
    rest = authority[ended.end() :] if ended else ""
    fields["authority"] = county_authority(ended.group(1) if ended else authority, county)
    period = rest + _band_text(placed, 43.5, 54.0, 0.0, CARD_MM[0], "有效期限")
    start, end = read_period(period, today)
    fields["valid_from"] = start.isoformat() if start else ""
    fields["valid_to"] = end if isinstance(end, str) else (end.isoformat() if end else "")
    return CardFields("back", fields, back_errors(fields, today))


def county_authority(authority: str, county: str | None) -> str:
    """A county public-security bureau's name as read, snapped to a county's name (to `county`'s,
    the front's number's, when it is one of several one character off, or when the name read is
    it with characters left out). Applied again with a county to one snapped without, it gives
    what reading with the county gave: a name snapped alone was the only one near."""
    if not authority.endswith("公安局"):
        return authority
    name = authority.removesuffix("公安局")
    if county and name != county and dropped_from(name, county):
        name = county  # 城区 of 郾城区, 维西族自治县 of 维西傈僳族自治县: its rare characters were lost
    return snap(name, county_names(), prefer=county) + "公安局"


def is_validity_period(start: date, end: date) -> bool:
    """Whether a card valid from `start` can be valid to `end`: 5, 10 or 20 years later, to the
    day (from 29 February, the 28th or 1 March in a year with none). A misread digit of a year
    (2082 for 2032) makes a period no card has."""
    if end.year - start.year not in VALIDITY_YEARS:
        return False
    if (end.month, end.day) == (start.month, start.day):
        return True
    return (start.month, start.day) == (2, 29) and (end.month, end.day) in ((2, 28), (3, 1))


def back_errors(fields: dict[str, str], today: date) -> list[FieldError]:
    """What is wrong with the emblem side's fields as read: no authority, no period, a period
    that ends before it starts or is not 5, 10 or 20 years, a card expired or not yet valid."""
    errors = []
    start = date.fromisoformat(fields["valid_from"]) if fields.get("valid_from") else None
    to = fields.get("valid_to", "")
    end: date | str | None = to if to == LONG_TERM else (date.fromisoformat(to) if to else None)
    if not fields.get("authority", "").endswith(AUTHORITY_SUFFIXES):
        errors.append(FieldError("authority", "not_read", "the issuing authority could not be read"))
    if start is None or end is None:
        errors.append(FieldError("valid_to", "not_read", "the validity period could not be read"))
    elif isinstance(end, date):
        if end <= start:
            errors.append(FieldError("valid_to", "period_invalid", "the validity period ends before it starts"))
        elif not is_validity_period(start, end):
            errors.append(FieldError("valid_to", "period_invalid", "the validity period is not 5, 10 or 20 years"))
        elif end < today:
            errors.append(FieldError("valid_to", "expired", f"the card expired on {end.isoformat()}"))
    if start is not None and start > today:
        errors.append(FieldError("valid_from", "not_yet_valid", "the card's validity starts in the future"))
    return errors


def read_fields(
    lines: list[OcrLine],
    width_px: float,
    height_px: float,
    today: date,
    *,
    number: str | None = None,
    county: str | None = None,
) -> CardFields:
    """The fields of whichever side the lines show; `number` replaces the number line's reading
    (a second read of it); `county`, the front's number's county, helps read the back's authority."""
    side, placed, flipped = orient(place(lines, width_px, height_px))
    if side == "unknown":
        return CardFields("unknown", {}, [FieldError("side", "not_a_card", "no ID card text was found")])
    to_printed = alignment(placed, side)
    placed = align(placed, to_printed)
    result = read_front(placed, today, number) if side == "front" else read_back(placed, today, county)
    result.upside_down = flipped
    result.to_printed = to_printed
    return result
