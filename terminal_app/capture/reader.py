"""Reading one ID card image: decode (bounded), find and rectify the card, OCR it, read the
fields by layout, validate them. When the number fails its check character, the number line is
cropped, enlarged and read again before the reading is reported; a number that does not
validate is never reported as valid."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from datetime import date

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, UnidentifiedImageError

from terminal_app.capture.card_finder import find_card, rectify
from terminal_app.capture.card_spec import CARD_PX, PORTRAIT_MM, PX_PER_MM
from terminal_app.capture.fields import (
    AUTHORITY_SUFFIXES,
    CardFields,
    FieldError,
    ethnicity_candidates,
    front_errors,
    normalise_number,
    read_fields,
    sex_candidates,
    word_from_scores,
)
from terminal_app.capture.ocr import OcrEngine, OcrLine, ocr_engine
from terminal_app.capture.quality import QualityThresholds, judge_card
from terminal_app.core.id_number import validate_id_number

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 200  # a card smaller than this in a frame cannot be read
NUMBER_LINE_MM = (20.0, 41.5, 85.6, 52.5)  # left, top, right, bottom
ETHNICITY_MM = (35.5, 12.0, 49.0, 16.0)  # the ethnicity's value, as tight as it is read by the names
SEX_MM = (15.5, 12.0, 21.0, 16.0)  # the sex's value, one character
# Front fields with few possible values, read by scoring each against their row when the
# detector found no text there (傈僳 is read as nothing; a lone 男 can be missed): the row's box
# and the candidates its ink's width allows.
BY_NAMES = {"ethnicity": (ETHNICITY_MM, ethnicity_candidates), "sex": (SEX_MM, sex_candidates)}
# The rows the values of the fields nothing else checks are printed on (left, top, right,
# bottom, mm; the address's three possible lines). Under a burnt-out glare spot their text is
# gone, and what is read there is the rest of it: a name or an address with characters missing.
# The number, and the birth date and sex it carries, are checked against each other instead.
GLARE_CHECKED_MM: dict[str, dict[str, list[tuple[float, float, float, float]]]] = {
    "front": {
        "name": [(16.0, 5.2, 50.5, 9.4)],  # text starts at 16.5 mm; 11 characters of 3 mm end by 50
        "ethnicity": [(35.5, 12.2, 49.0, 16.4)],  # four characters at most (柯尔克孜)
        "address": [(16.0, 26.2 + 4.6 * i, 50.5, 30.4 + 4.6 * i) for i in range(3)],
    },
    "back": {"authority": [(30.5, 39.2, 85.6, 43.4)], "valid_to": [(30.5, 45.7, 85.6, 49.9)]},
}
INK_CONTRAST = 60  # grey levels darker than the paper: print (the text is ~20, the paper ~240)
BURNT_OUT = 248  # grey level, after a light blur
WASHED_END_MM = 6.0  # past the last text read on a row: two characters' worth may have been washed out
FULL_LINE_GAP_MM = 7.0  # a row read to within this of its right end is full: the next line exists
MAX_BURNT_SHARE = 0.05  # of a row, outside what was read: more, and the field is refused as under glare
# Inside what was read, columns burnt out over this share of the row's height, side by side for
# a third of a character or more: a character there is gone, though the text around it was read.
WASHED_COLUMN = 0.75
LOST_CHARACTER_MM = 1.0
# Glare short of burning out still washes the characters under it out to faint grey, and the
# recogniser reads another character there (medium capture card 259's 李 at 0.53 of its row's ink,
# read as 杰 by two frames alike): a row whose faintest character (`faintest_character`) has less
# ink than this share of its row's is refused as under glare. On mild photographs rows come out
# at 0.95 or more; on 150 medium ones (each with a lamp's spot), 7 of the 392 rows read right
# fell under 0.6 (the 4 looked at were washed: read right by luck or by the county's snap), and
# 16 of the 31 rows read wrong.
WASHED_INK = 0.6
CHARACTER_MM = 2.5  # every stretch this wide inside a row's text holds some stroke of a character
INKED = 25  # a column's contrast (grey levels) above this: it holds print


class ImageRejected(Exception):
    """The input is not an image this reader can use; `code` says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def decode_image(data: bytes) -> np.ndarray:
    """BGR pixels, or ImageRejected (too large, not an image, corrupt, too small). The size is
    read from the header before any pixel is decoded, so memory stays bounded."""
    if len(data) > MAX_FILE_BYTES:
        raise ImageRejected("image_too_large", f"the file is {len(data) / 2**20:.0f} MiB; at most 20 MiB")
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageRejected("not_an_image", f"not an image file ({error.__class__.__name__})") from None
    if width * height > MAX_PIXELS:
        raise ImageRejected("image_too_large", f"{width}x{height} pixels; at most {MAX_PIXELS // 10**6} megapixels")
    if min(width, height) < MIN_SIDE:
        raise ImageRejected("image_too_small", f"{width}x{height} pixels; the card needs at least {MIN_SIDE}")
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if pixels is None:
        raise ImageRejected("corrupt_image", "the image data is damaged and cannot be decoded")
    return pixels


def printed_area(card: np.ndarray, to_printed: np.ndarray | None, box: tuple[float, float, float, float]) -> np.ndarray:
    """The area `box` (left, top, right, bottom, printed mm) of the rectified card, where the
    labels say it is: when they show the rectification off by more than a millimetre there (a
    thumb over a corner moved the card's outline), it is taken through their correction
    (`to_printed`, seen mm to printed mm), as the text was read."""
    left, top, right, bottom = box
    size = (round((right - left) * PX_PER_MM), round((bottom - top) * PX_PER_MM))
    if to_printed is not None:
        to_seen = cv2.invertAffineTransform(to_printed.astype(np.float64))  # printed mm -> seen mm
        centre = np.array([(left + right) / 2, (top + bottom) / 2, 1.0])
        if np.linalg.norm(to_seen @ centre - centre[:2]) > 1.0:
            linear, offset = to_seen[:, :2], to_seen[:, 2]
            sample = np.hstack([linear, (linear @ np.array([left, top]) + offset)[:, None] * PX_PER_MM])
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            return cv2.warpAffine(card, sample, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    x0, y0 = round(left * PX_PER_MM), round(top * PX_PER_MM)
    return card[y0 : y0 + size[1], x0 : x0 + size[0]]


@dataclass
class CardReading:
    side: str
    fields: dict[str, str]
    errors: list[FieldError]
    quality: dict = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    card: np.ndarray | None = field(default=None, repr=False)  # the rectified card, BGR
    to_printed: np.ndarray | None = field(default=None, repr=False)  # the labels' correction of it (mm)

    @property
    def valid(self) -> bool:
        return self.side in ("front", "back") and not self.errors

    def as_json(self) -> dict:
        return {
            "side": self.side,
            "fields": self.fields,
            "valid": self.valid,
            "errors": [e.as_json() for e in self.errors],
            "quality": self.quality,
            "timings_ms": self.timings_ms,
        }

    def portrait(self) -> np.ndarray | None:
        """The photo area of the portrait side, where the labels say it is (`printed_area`)."""
        if self.card is None or self.side != "front":
            return None
        return printed_area(self.card, self.to_printed, PORTRAIT_MM)

    def portrait_jpeg(self) -> bytes | None:
        """`portrait` as JPEG, for the liveness step's face match."""
        photo = self.portrait()
        if photo is None:
            return None
        ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
        return encoded.tobytes() if ok else None


def ink_width_mm(row: np.ndarray) -> float:
    """From the first to the last column of a row's crop with print on it (two pixels or more
    much darker than the row's paper), in mm; 0 for a row with none."""
    grey = cv2.cvtColor(row, cv2.COLOR_BGR2GRAY).astype(np.float32)
    columns = np.flatnonzero((grey < np.median(grey) - INK_CONTRAST).sum(axis=0) >= 2)
    return float(columns[-1] - columns[0] + 1) / PX_PER_MM if columns.size else 0.0


def _crop_mm(card: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    left, top, right, bottom = (round(v * PX_PER_MM) for v in box)
    return card[top:bottom, left:right]


# A value read to its known end cannot have lost its end to glare (only its middle or start).
READ_TO_ITS_END = {
    "address": lambda fields: fields.get("address", "").endswith("号"),
    "authority": lambda fields: fields.get("authority", "").endswith(AUTHORITY_SUFFIXES),
    "valid_to": lambda fields: bool(fields.get("valid_from") and fields.get("valid_to")),
}


def faintest_character(grey: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """How faint the faintest character of a row of text is: each column's contrast (its paper,
    the 90th percentile, against its darkest pixel), the strongest within every character's
    width, the least of those over the row's median inked column. 1 for a row with no print or
    too short to judge (the other checks see to those)."""
    crop = _crop_mm(grey, box)
    width = round(CHARACTER_MM * PX_PER_MM)
    if crop.shape[0] < 2 or crop.shape[1] <= width:
        return 1.0
    contrast = np.percentile(crop, 90, axis=0) - crop.min(axis=0)
    inked = contrast[contrast > INKED]
    if not inked.size:
        return 1.0
    return float(sliding_window_view(contrast, width).max(axis=1).min() / np.median(inked))


def _longest_run(flags: np.ndarray) -> int:
    """The length of the longest run of True in a 1-d array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def glare_errors(card: np.ndarray, side: str, lines: list[OcrLine], fields: dict[str, str]) -> list[FieldError]:
    """A field whose printed value may lie under burnt-out glare cannot be trusted: the person is
    asked to tilt the card, and the next frame is read. Only the part of each row where text can
    be counts: up to a little past the last text read on it (a washed-out end), all of a row
    another row follows (the address wraps when a row is full), or all of a row that must hold
    text and where none was read; pixels inside what was read do not count (the
    text there came through), unless a stretch of it is burnt out from top to bottom or a
    character of it is washed faint (`faintest_character`)."""
    plain = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    grey = cv2.GaussianBlur(plain, (0, 0), 1.5)
    inked = cv2.GaussianBlur(plain, (0, 0), 1.0).astype(np.float32)  # noise evened, strokes kept
    burnt = (grey >= BURNT_OUT).astype(np.float32)
    boxes = [(line.box[:, 0].min() / PX_PER_MM, line.box[:, 0].max() / PX_PER_MM, line.centre[1] / PX_PER_MM)
             for line in lines]  # fmt: skip
    errors = []
    for name, rows in GLARE_CHECKED_MM.get(side, {}).items():
        ended = name in READ_TO_ITS_END and READ_TO_ITS_END[name](fields)
        texts = [[b for b in boxes if top <= b[2] <= bottom and b[1] > left] for left, top, right, bottom in rows]
        final = max((i for i, on_row in enumerate(texts) if on_row), default=-1)  # the last row with text
        previous_full = True  # the first row always holds text
        for i, ((left, top, right, bottom), on_row) in enumerate(zip(rows, texts, strict=True)):
            last = max((b[1] for b in on_row), default=None)  # where the text read on the row ends
            if last is not None and i < final:  # a row another follows is printed to its end: all of it counts
                end = right
            elif last is not None:
                full = ended or last >= right - FULL_LINE_GAP_MM
                end = last if full else min(right, last + WASHED_END_MM)
            elif previous_full and not ended:
                end = right
            else:
                break  # a line that need not exist (the address's second or third)
            columns = _crop_mm(burnt, (left, top, end, bottom)).mean(axis=0)  # burnt share of each column
            x0 = round(left * PX_PER_MM)
            read = np.zeros(columns.size, dtype=bool)
            for start, stop, _ in on_row:  # the columns of text read came through, top to bottom ...
                read[max(0, round(start * PX_PER_MM) - x0 - 2) : max(0, round(stop * PX_PER_MM) - x0 + 2)] = True
            # ... but for a stretch washed out from top to bottom: the characters there are gone
            lost = _longest_run(read & (columns >= WASHED_COLUMN)) >= LOST_CHARACTER_MM * PX_PER_MM
            if last is not None and not lost:  # ... or a character there is washed faint
                text = (max(left, min(b[0] for b in on_row)), top, min(right, last), bottom)
                lost = faintest_character(inked, text) < WASHED_INK
            columns[read] = 0
            if lost or (columns.size and float(columns.mean()) > MAX_BURNT_SHARE):
                errors.append(
                    FieldError(name, "glare", f"glare over the {name.replace('_', ' ')}: tilt the card a little")
                )
                break
            previous_full = last is not None and last >= right - FULL_LINE_GAP_MM
    return errors


def read_card(
    frame_bgr: np.ndarray, *, today: date, engine: OcrEngine | None = None, county: str | None = None
) -> CardReading:
    """One image of one side, end to end. `county`: the county-level name of the front's number
    (when the back is read after the front), which breaks ties in reading the authority."""
    engine = engine or ocr_engine()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    found = find_card(frame_bgr)
    timings["find"] = round((time.perf_counter() - started) * 1000, 1)
    if found is None:
        return CardReading(
            "unknown", {}, [FieldError("card", "card_not_found", "no ID card was found in the image")], {}, timings
        )
    card = rectify(frame_bgr, found)
    quality = {**judge_card(card), "card_share": round(found.area_share, 3)}
    ocr_ms = 0.0

    def ocr(image: np.ndarray) -> list:
        nonlocal ocr_ms
        began = time.perf_counter()
        found_lines = engine.read(image)
        ocr_ms += (time.perf_counter() - began) * 1000
        return found_lines

    started = time.perf_counter()
    lines = ocr(card)
    result: CardFields = read_fields(lines, CARD_PX[0], CARD_PX[1], today, county=county)
    upside_down = result.upside_down
    if upside_down:  # read it again the right way up: small text is lost upside down
        card = cv2.rotate(card, cv2.ROTATE_180)
        lines = ocr(card)
        result = read_fields(lines, CARD_PX[0], CARD_PX[1], today, county=county)
    number_error = next((e for e in result.errors if e.field == "id_number"), None)
    if result.side == "front" and number_error is not None:
        crop = cv2.resize(_crop_mm(card, NUMBER_LINE_MM), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        again = next((n for line in ocr(crop) if len(n := normalise_number(line.text)) == 18), None)
        if again and validate_id_number(again, today=today, min_age=0, max_age=200).valid:
            result = read_fields(lines, CARD_PX[0], CARD_PX[1], today, number=again)
        quality["number_reread"] = True
    unread = [key for key in BY_NAMES if any(e.field == key and e.code == "not_read" for e in result.errors)]
    if result.side == "front" and unread:
        began = time.perf_counter()
        for key in unread:
            box, candidates_for = BY_NAMES[key]
            row = printed_area(card, result.to_printed, box)
            candidates = candidates_for(ink_width_mm(row))
            value = word_from_scores(candidates, engine.word_scores(row, candidates.values()))
            if value:
                result.fields[key] = value
            quality[f"{key}_by_names"] = bool(value)
        ocr_ms += (time.perf_counter() - began) * 1000
        result.errors = front_errors(result.fields, today)  # a sex read so must agree with the number too
    timings["ocr"] = round(ocr_ms, 1)
    timings["fields"] = round((time.perf_counter() - started) * 1000 - ocr_ms, 1)
    quality["upside_down"] = upside_down
    errors = list(result.errors)
    if result.side in ("front", "back"):
        known = {e.field for e in errors}
        errors += [e for e in glare_errors(card, result.side, lines, result.fields) if e.field not in known]
        if quality["colour"] < QualityThresholds().min_colour:
            errors.insert(
                0, FieldError("card", "photocopy", "the card has no colour: a photocopy or a print, not the card")
            )
    return CardReading(result.side, result.fields, errors, quality, timings, card, result.to_printed)
