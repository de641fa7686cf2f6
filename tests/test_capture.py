"""ID card capture: synthetic cards, finding and rectifying the card, on-device OCR, reading the
fields by layout, validation, and bad input. The OCR is the real PP-OCR models on onnxruntime."""

from __future__ import annotations

import dataclasses
import io
import itertools
import random
from datetime import date

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from kiosk_demo.synthetic.card import draw_back, draw_front, make_cards
from kiosk_demo.synthetic.people import corrupt_check_character
from kiosk_demo.synthetic.photo import LEVELS, Pose, photograph
from terminal_app.capture.card_spec import CARD_PX, ETHNIC_GROUPS, LONG_TERM, PX_PER_MM
from terminal_app.capture.fields import (
    ANCHORS,
    Placed,
    align,
    alignment,
    back_errors,
    characters_spanning,
    correct_division,
    read_back,
    read_front,
    read_name,
    read_period,
)
from terminal_app.capture.ocr import ctc_log_likelihood, ocr_engine
from terminal_app.capture.reader import ImageRejected, decode_image, read_card
from terminal_app.core.id_number import validate_id_number

TODAY = date(2026, 11, 25)
CARDS = make_cards(6, seed=11, today=TODAY, county="422801")


def bgr(image: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photographed(card: np.ndarray, seed: int, tilt: float = 0.08, angle: float = 12.0) -> np.ndarray:
    """The card on a cluttered table, seen at an angle: a perspective warp into a 1280 x 720 frame."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(60, 140, (720, 1280, 3), dtype=np.uint8)
    for _ in range(25):  # clutter: rectangles and lines in other colours
        x, y = int(rng.integers(0, 1200)), int(rng.integers(0, 680))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(frame, (x, y), (x + int(rng.integers(10, 80)), y + int(rng.integers(10, 60))), colour, 2)
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    w, h = CARD_PX
    centre = np.array([640, 360])
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) * 0.5 * 0.85
    corners[:2, 0] *= 1 - tilt  # the far edge looks shorter
    target = (corners @ rotation.T + centre).astype(np.float32)
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(card, matrix, (1280, 720))
    mask = cv2.warpPerspective(np.full(card.shape[:2], 255, np.uint8), matrix, (1280, 720))
    frame[mask > 0] = warped[mask > 0]
    return frame


# --- the synthetic cards ------------------------------------------------------------------------


def test_synthetic_cards_are_consistent_and_repeatable():
    again = make_cards(6, seed=11, today=TODAY, county="422801")
    assert again == CARDS and make_cards(6, seed=12, today=TODAY) != CARDS
    assert len(ETHNIC_GROUPS) == 56 and len(set(ETHNIC_GROUPS)) == 56
    for card in make_cards(200, seed=5, today=TODAY):
        check = validate_id_number(card.id_number, today=TODAY, min_age=16, max_age=80)
        assert check.valid and check.birth_date == card.birth_date and check.sex == card.sex
        assert 1 <= len(card.address_lines) <= 3 and all(len(line) <= 11 for line in card.address_lines)
        assert card.ethnicity in ETHNIC_GROUPS and card.authority.endswith("公安局")
        assert card.valid_from <= TODAY and (card.valid_to == LONG_TERM or card.valid_to > TODAY)
    assert np.array_equal(np.asarray(draw_front(CARDS[0])), np.asarray(draw_front(CARDS[0])))
    assert draw_front(CARDS[0]).size == CARD_PX == (856, 540)


# --- reading ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_both_sides_of_clean_cards_are_read_and_a_misread_checkable_field_is_flagged():
    exact = 0
    for card in CARDS:
        for side, image in (("front", draw_front(card)), ("back", draw_back(card))):
            reading = read_card(bgr(image), today=TODAY)
            expected = card.expected_fields(side)
            assert reading.side == side
            if side == "front":
                assert reading.fields["id_number"] == card.id_number  # the number is never wrong
            wrong = {k for k in expected if reading.fields.get(k) != expected[k]}
            flagged = {e.field for e in reading.errors}
            assert wrong - {"name", "address"} <= flagged, (wrong, reading.errors)  # free text cannot be checked
            exact += reading.valid and not wrong
    assert exact >= 2 * len(CARDS) - 2, exact  # rare ethnic-group characters (畲, 傈僳) may be misread


@pytest.mark.slow
def test_a_card_upside_down_or_photographed_at_an_angle_is_found_and_read():
    card = CARDS[1]
    upside_down = read_card(cv2.rotate(bgr(draw_front(card)), cv2.ROTATE_180), today=TODAY)
    assert upside_down.quality["upside_down"] and upside_down.fields == card.expected_fields("front")
    photo = read_card(photographed(bgr(draw_front(card)), seed=1), today=TODAY)
    assert photo.valid and photo.fields == card.expected_fields("front"), photo.as_json()
    assert 0.3 < photo.quality["card_share"] < 0.9
    back = read_card(photographed(bgr(draw_back(card)), seed=2, angle=-20), today=TODAY)
    assert back.side == "back" and back.fields == card.expected_fields("back")


@pytest.mark.slow
def test_a_wrong_check_character_is_never_accepted():
    card = dataclasses.replace(CARDS[2], id_number=corrupt_check_character(CARDS[2].id_number))
    for image in (bgr(draw_front(card)), cv2.rotate(bgr(draw_front(card)), cv2.ROTATE_180)):
        reading = read_card(image, today=TODAY)
        assert not reading.valid and reading.quality["number_reread"]
        assert [(e.field, e.code) for e in reading.errors] == [("id_number", "check_character")]
    assert reading.quality["upside_down"]  # kept through the second read of the number


def test_a_printed_birth_date_that_disagrees_with_the_number_is_refused():
    card = dataclasses.replace(
        CARDS[3], birth_date=CARDS[3].birth_date.replace(day=1 if CARDS[3].birth_date.day > 1 else 2)
    )
    reading = read_card(bgr(draw_front(card)), today=TODAY)
    assert not reading.valid and ("birth_date", "birth_date_mismatch") in [(e.field, e.code) for e in reading.errors]


def test_the_portrait_crop_is_the_photo_area():
    reading = read_card(bgr(draw_front(CARDS[0])), today=TODAY)
    portrait = cv2.imdecode(np.frombuffer(reading.portrait_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    assert portrait.shape[:2] == (330, 260)
    assert read_card(bgr(draw_back(CARDS[0])), today=TODAY).portrait_jpeg() is None


def test_when_the_labels_show_the_card_rectified_off_the_portrait_is_taken_where_they_say():
    card = bgr(draw_front(CARDS[0]))
    printed = read_card(card, today=TODAY).portrait()
    # the outline was found 4 mm too far left and 3 mm too high: everything sits 40 px right, 30 down
    seen = cv2.warpAffine(card, np.float32([[1, 0, 40], [0, 1, 30]]), CARD_PX, borderMode=cv2.BORDER_REPLICATE)
    reading = read_card(seen, today=TODAY)
    assert reading.valid and reading.to_printed is not None
    assert abs(reading.to_printed[0, 2] + 4) < 1 and abs(reading.to_printed[1, 2] + 3) < 1  # the labels' shift back

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())

    corrected = reading.portrait()
    uncorrected = dataclasses.replace(reading, to_printed=None).portrait()
    assert corrected.shape == printed.shape == uncorrected.shape
    assert difference(corrected, printed) < 0.4 * difference(uncorrected, printed)


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"this is not an image", "not_an_image"),
        (png(Image.new("RGB", (1, 1))), "image_too_small"),
        (png(Image.new("1", (8000, 6000))), "image_too_large"),
        (b"\x00" * (21 * 1024 * 1024), "image_too_large"),
    ],
)
def test_files_that_are_not_usable_images_get_a_specific_error(data, code):
    with pytest.raises(ImageRejected) as rejected:
        decode_image(data)
    assert rejected.value.code == code


def test_a_truncated_jpeg_is_reported_as_corrupt_or_read_without_crashing():
    _, encoded = cv2.imencode(".jpg", bgr(draw_front(CARDS[0])))
    truncated = encoded.tobytes()[:2000]
    try:
        frame = decode_image(truncated)
    except ImageRejected as rejected:
        assert rejected.code == "corrupt_image"
    else:
        assert not read_card(frame, today=TODAY).valid


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (np.zeros((480, 640, 3), np.uint8), "card_not_found"),  # a black frame
        (np.full((540, 856, 3), 255, np.uint8), "not_a_card"),  # a blank card-shaped page
    ],
)
def test_frames_without_a_card_say_so(frame, code):
    reading = read_card(frame, today=TODAY)
    assert not reading.valid and reading.errors[0].code == code


def test_text_that_is_not_an_id_card_is_not_taken_for_one():
    page = Image.new("RGB", CARD_PX, "white")
    from PIL import ImageDraw

    from kiosk_demo.synthetic.card import font

    draw = ImageDraw.Draw(page)
    rng = random.Random(3)
    for row in range(6):
        draw.text(
            (40, 40 + row * 80),
            "".join(rng.choice("今天天气很好我们去赶集买菜") for _ in range(12)),
            font=font(4),
            fill="black",
        )
    reading = read_card(bgr(page), today=TODAY)
    assert not reading.valid and reading.errors[0].code == "not_a_card"


# --- photographs ------------------------------------------------------------------------------------


def test_photographs_are_repeatable_and_each_level_is_harder():
    card = bgr(draw_front(CARDS[0]))
    assert np.array_equal(photograph(card, LEVELS["medium"], seed=3), photograph(card, LEVELS["medium"], seed=3))
    assert np.array_equal(photograph(card, LEVELS["clean"], seed=3), card)  # a flat scan
    levels = [LEVELS[name] for name in ("clean", "mild", "medium", "hard")]
    for easier, harder in itertools.pairwise(levels):
        for name in ("rotation_deg", "tilt", "blur_sigma", "noise_sigma", "light_gradient", "glare", "occlusion"):
            assert getattr(easier, name) <= getattr(harder, name), name
        assert easier.jpeg_quality >= harder.jpeg_quality and easier != harder
    assert photograph(card, LEVELS["hard"], seed=3).shape == (720, 1280, 3)


@pytest.mark.slow
def test_no_level_of_degradation_gets_a_wrong_number_accepted():
    """Whatever the photo, a reading reported valid carries the card's own number; the mild level
    is read whole for most cards."""
    whole = 0
    for level in ("mild", "medium", "hard"):
        for index, card in enumerate(CARDS[:4]):
            reading = read_card(photograph(bgr(draw_front(card)), LEVELS[level], seed=index), today=TODAY)
            if reading.valid:
                assert reading.fields["id_number"] == card.id_number
            whole += level == "mild" and reading.valid and reading.fields == card.expected_fields("front")
    assert whole >= 3


@pytest.mark.parametrize("ethnicity", ["仫佬", "仡佬", "土", "汉", "维吾尔", "傈僳"])
def test_the_names_the_recogniser_misreads_are_read_as_printed(ethnicity):
    card = dataclasses.replace(CARDS[0], ethnicity=ethnicity)
    reading = read_card(photographed(bgr(draw_front(card)), seed=5), today=TODAY)
    assert reading.valid, reading.errors
    assert reading.fields["ethnicity"] == ethnicity
    # 傈僳 comes out of the recogniser as nothing: it is found by scoring the row against the names
    assert reading.quality.get("ethnicity_by_names", False) == (ethnicity == "傈僳")


def test_a_validity_period_no_card_has_is_refused():
    """A second-generation card is valid 5, 10 or 20 years, to the day, or long-term: a year's
    digit misread (2082 for 2032, two frames of one hold alike, medium capture card 287) makes a
    period of 70 years, refused; so is a period a day off."""
    authority = {"authority": "瑞金县公安局"}

    def codes(start: str, end: str) -> list[str]:
        return [e.code for e in back_errors(authority | {"valid_from": start, "valid_to": end}, TODAY)]

    assert codes("2012-12-08", "2032-12-08") == []
    assert codes("2018-07-21", "2028-07-21") == [] and codes("2024-03-02", "2029-03-02") == []
    assert codes("2012-12-08", "2082-12-08") == ["period_invalid"]
    assert codes("2012-12-08", "2032-12-09") == ["period_invalid"]
    assert codes("2020-02-29", "2030-02-28") == [] and codes("2020-02-29", "2030-03-01") == []
    assert codes("2012-12-08", "长期") == []


def test_the_surname_the_recogniser_misreads_is_read_as_printed():
    """侯 comes out of the recogniser as 候, no surname (bench_idcard's clean card 230, and
    medium cards read so twice in one hold were accepted): a name read so opens with 侯. The
    character elsewhere in a name is left as read."""
    card = make_cards(231, seed=2026, today=TODAY)[230]
    assert card.name == "侯勇"
    reading = read_card(photograph(bgr(draw_front(card)), LEVELS["clean"], seed=230), today=TODAY)
    assert reading.valid, reading.errors
    assert reading.fields["name"] == "侯勇"
    assert read_name("候勇") == "侯勇" and read_name("李候") == "李候" and read_name("") == ""


@pytest.mark.parametrize("printed", ["", "中国", "傈"])
def test_a_row_that_holds_no_groups_name_is_left_unread_never_guessed(printed):
    """A blank row, two characters that are no group's name, and 傈僳 with its second character
    gone (as under a thumb): the names are scored, none is taken."""
    card = dataclasses.replace(CARDS[0], ethnicity=printed)
    reading = read_card(photographed(bgr(draw_front(card)), seed=5), today=TODAY)
    assert not reading.valid and [(e.field, e.code) for e in reading.errors] == [("ethnicity", "not_read")]
    assert reading.quality["ethnicity_by_names"] is False


@dataclasses.dataclass
class LosingSexValue:
    """The real engine, its detector missing the lone 男 or 女 beside the label, as on card 224
    of the benchmark's mild photographs at the last stop (a finer card outline found it since)."""

    engine: object

    def read(self, image_bgr: np.ndarray) -> list:
        return [line for line in self.engine.read(image_bgr) if line.text not in ("男", "女")]

    def word_scores(self, line_bgr: np.ndarray, words) -> dict[str, float]:
        return self.engine.word_scores(line_bgr, words)


@pytest.mark.slow
def test_a_lone_sex_character_the_detector_missed_is_read_by_scoring_its_row():
    """The row holds one character's ink, and the printed sex scores far ahead of the other; a
    row with no ink stays unread."""
    losing = LosingSexValue(ocr_engine())
    for card in CARDS[:2]:
        photo = photographed(bgr(draw_front(card)), seed=3)
        assert {line.text for line in ocr_engine().read(photo)} & {"男", "女"}  # the real detector finds it here
        reading = read_card(photo, today=TODAY, engine=losing)
        assert reading.valid and reading.fields == card.expected_fields("front")
        assert reading.quality["sex_by_names"] is True
    unprinted = draw_front(CARDS[0])
    ImageDraw.Draw(unprinted).rectangle([round(v * PX_PER_MM) for v in (16.0, 12.2, 21.0, 16.0)], fill=(236, 242, 240))
    blank = read_card(photographed(bgr(unprinted), seed=5), today=TODAY)
    assert [(e.field, e.code) for e in blank.errors] == [("sex", "not_read")]  # no ink: nothing scored
    assert blank.quality["sex_by_names"] is False


@pytest.mark.slow
def test_glare_over_the_end_of_an_address_row_another_follows_is_refused():
    """The address wraps when its row is full, so a first row read short of its right end lost
    characters there, though the address was read to its 号 (medium capture card 44: 云安乡 for
    云安区松小乡, accepted twice). Glare there refuses the address; it is never read short."""
    card = make_cards(45, seed=2026, today=TODAY)[44]
    refused = 0
    for towards_end in (0.02, 0.06, 0.1, 0.14):
        pose = Pose((640, 360), 0.62, 4.0, 0.04, 0, thumb_corner=1, glare_at=(towards_end, 0.04))
        reading = read_card(photograph(bgr(draw_front(card)), LEVELS["medium"], 1, pose), today=TODAY)
        glared = ("address", "glare") in [(e.field, e.code) for e in reading.errors]
        assert glared or reading.fields["address"] == card.address
        refused += glared
    assert refused >= 2


def test_the_ctc_likelihood_sums_every_alignment_of_the_labels():
    """Against brute force: every path of 5 frames over 4 classes (0 the blank) that collapses to
    the labels (repeats merged, then blanks dropped)."""
    log_probs = np.log(np.random.default_rng(0).dirichlet(np.ones(4), size=5))

    def collapse(path: tuple[int, ...]) -> list[int]:
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        return [c for c in merged if c]

    for labels in ([], [1], [1, 1], [2, 3, 2], [1, 2, 1, 1]):
        paths = [p for p in itertools.product(range(4), repeat=5) if collapse(p) == labels]
        brute = np.logaddexp.reduce([log_probs[range(5), list(p)].sum() for p in paths])
        assert ctc_log_likelihood(log_probs, labels) == pytest.approx(brute)


@pytest.mark.parametrize(("width", "count"), [(0.0, None), (1.4, None), (2.2, 1), (2.9, 1), (4.4, None),
                                              (5.2, 2), (6.0, 2), (7.9, 3), (9.1, 3), (11.6, 4)])  # fmt: skip
def test_the_ink_width_says_how_long_a_name_is(width, count):
    assert characters_spanning(width) == count


@pytest.mark.parametrize(
    ("read", "printed"),
    [
        ("湖北省阳地区丹江口市银坝镇塘塘村1组182号", "湖北省郧阳地区丹江口市银坝镇塘塘村1组182号"),  # 郧 dropped
        ("山西省路城市凤塘镇湾寨村37号", "山西省潞城市凤塘镇湾寨村37号"),  # 潞 read as 路
        ("浙江省台州地区景宁鑫族自治县花小镇7组33号", "浙江省台州地区景宁畲族自治县花小镇7组33号"),
        ("云南省迪庆藏族自治州维西族自治县营关镇坪南村", "云南省迪庆藏族自治州维西傈僳族自治县营关镇坪南村"),
        # the city's name alone is a division's, a county-level city's of the same name: the
        # county after it is still read as the table spells it
        ("江苏省淮安市盱胎县大龙镇柏花村7组193号", "江苏省淮安市盱眙县大龙镇柏花村7组193号"),
        # an autonomous county's name is longer than a county's: it is still one after the city's
        ("云南省丽江市宁彝族自治县凤泉镇竹坪村66号", "云南省丽江市宁蒗彝族自治县凤泉镇竹坪村66号"),
    ],
)
def test_the_division_names_opening_an_address_are_read_as_the_division_table_spells_them(read, printed):
    assert correct_division(read) == printed


def test_an_address_is_left_as_read_when_no_single_division_explains_it():
    ambiguous = "河北省保定市源县岭青乡水北村5组132号"  # 涞源县 lost 涞, or 唐县 / 易县 misread?
    assert correct_division(ambiguous) == ambiguous
    assert correct_division(ambiguous, "河北省保定市涞源县") == "河北省保定市涞源县岭青乡水北村5组132号"  # the number's
    assert correct_division(ambiguous, "河北省保定市博野县") == ambiguous  # not among the closest: no guess
    city_alone = "黑龙江省牡丹江市坝树乡下凤村7组86号"  # a city's address with no county-level name
    assert correct_division(city_alone) == city_alone
    county_city = "江苏省淮安市清浦镇柏花村7组193号"  # the county-level city's own address: no county after it
    assert correct_division(county_city) == county_city
    unknown_province = "海文昌市杨南镇石寨村4号"
    assert correct_division(unknown_province) == unknown_province
    assert correct_division("湖北省恩施土家族苗族自治州恩施市某村") == "湖北省恩施土家族苗族自治州恩施市某村"


def test_the_back_read_after_the_front_takes_the_number_s_county_when_the_authority_is_ambiguous():
    card = make_cards(160, seed=2026, today=TODAY)[91]  # 溆浦县公安局: 溆 comes out as 激, one off 8 counties
    frame = photograph(bgr(draw_back(card)), LEVELS["mild"], seed=91)
    alone = read_card(frame, today=TODAY)
    assert alone.fields["authority"] == "激浦县公安局"  # left as read: no single county is that close
    after_front = read_card(frame, today=TODAY, county="溆浦县")
    assert after_front.valid and after_front.fields["authority"] == card.authority == "溆浦县公安局"
    elsewhere = read_card(frame, today=TODAY, county="恩施市")  # not among the close ones: no guess
    assert elsewhere.fields["authority"] == "激浦县公安局"


def spot_distance(card_bgr: np.ndarray, centre_mm: tuple[float, float], radius_mm: float) -> np.ndarray:
    """Each pixel's distance from a spot's centre on the card (10 px a mm), in its radii."""
    yy, xx = np.mgrid[: card_bgr.shape[0], : card_bgr.shape[1]]
    return np.hypot(xx - centre_mm[0] * 10, yy - centre_mm[1] * 10) / (radius_mm * 10)


def glared(card_bgr: np.ndarray, centre_mm: tuple[float, float], radius_mm: float) -> np.ndarray:
    """The card with a burnt-out glare spot: the lamp's reflection, white, soft at its rim."""
    light = np.clip(1.6 - spot_distance(card_bgr, centre_mm, radius_mm), 0, 1)[..., None] * 255
    return np.clip(card_bgr + light, 0, 255).astype(np.uint8)


def test_a_field_under_burnt_out_glare_is_refused_not_read_short():
    card = CARDS[0]
    over_address = glared(bgr(draw_front(card)), (30.0, 30.0), 6.0)
    reading = read_card(photographed(over_address, seed=5), today=TODAY)
    assert not reading.valid
    assert ("address", "glare") in [(e.field, e.code) for e in reading.errors]
    assert "tilt the card" in next(e.message for e in reading.errors if e.code == "glare")
    beside = glared(bgr(draw_front(card)), (80.0, 47.0), 2.5)  # right of the number, clear of the text
    assert read_card(photographed(beside, seed=5), today=TODAY).valid


def faded(card_bgr: np.ndarray, centre_mm: tuple[float, float], radius_mm: float, depth: float) -> np.ndarray:
    """The card with a spot of glare short of burning out: print and paper there drawn towards a
    pale grey (244) by `depth`, so the characters under it are faint, not gone."""
    share = (depth * np.clip(1.5 - spot_distance(card_bgr, centre_mm, radius_mm), 0, 1))[..., None]
    return (card_bgr * (1 - share) + 244 * share).astype(np.uint8)


def test_a_character_washed_faint_by_glare_is_refused_though_nothing_is_burnt_out():
    """The last character of the address's first row (自) faint under the lamp, no pixel white:
    the recogniser may read another character there (medium capture card 259 read 杰 for 李, two
    frames alike), so the address is refused as under glare and the person asked to tilt."""
    front = bgr(draw_front(CARDS[0]))
    reading = read_card(photographed(faded(front, (48.0, 28.3), 1.6, depth=0.85), seed=5), today=TODAY)
    assert not reading.valid
    assert [(e.field, e.code) for e in reading.errors] == [("address", "glare")]
    lighter = read_card(photographed(faded(front, (48.0, 28.3), 1.6, depth=0.5), seed=5), today=TODAY)
    assert lighter.valid and lighter.fields["address"] == CARDS[0].address  # print still dark enough: read


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("2024.10.29-2044.10.29", (date(2024, 10, 29), date(2044, 10, 29))),
        ("有效期2024.10.29-2044.10.29", (date(2024, 10, 29), date(2044, 10, 29))),  # the label's end merged in
        ("22,03.24-2042.03.24", (date(2022, 3, 24), date(2042, 3, 24))),  # 20 lost to glare: only 2022 fits
        ("9.05.25-2039.05.25", (date(2019, 5, 25), date(2039, 5, 25))),  # 2029 would be after today
        ("2022.03.24-42.03.24", (date(2022, 3, 24), date(2042, 3, 24))),
        ("2018.07.21-长期", (date(2018, 7, 21), LONG_TERM)),
        ("2022.03.24-2.03.24", (date(2022, 3, 24), None)),  # 2032 or 2042: not guessed
        ("2.03.25-2042.03.24", (None, date(2042, 3, 24))),  # the day differs: no year completed
        ("2024.02.29-34.02.28", (date(2024, 2, 29), date(2034, 2, 28))),  # from 29 February: to the 28th
        ("4.02.29-2034.02.28", (date(2024, 2, 29), date(2034, 2, 28))),
        ("2025.10.22-2049", (date(2025, 10, 22), None)),
        ("2018721-2028.07.21", (None, date(2028, 7, 21))),  # a digit dropped: not a date
    ],
)
def test_the_validity_dates_are_found_by_their_pattern_and_a_short_year_completed_only_when_one_fits(read, expected):
    assert read_period(read, TODAY) == expected


def test_label_boxes_drawn_a_little_off_do_not_stretch_the_card_out_of_its_rows():
    # the back as Tesseract's boxes place it on a clean photograph (bench_idcard's card 1): up to
    # 0.75 mm off the recogniser's the anchors were measured with, the card itself undistorted
    placed = [Placed("中华人民共和国", 41.8, 9.7, 27.5, 0.93), Placed("居民身份证", 42.5, 17.7, 27.3, 0.95),
              Placed("签发机关", 20.0, 41.8, 15.1, 0.94), Placed("五河县公安局", 40.2, 41.9, 31.2, 0.94),
              Placed("有效期限", 19.8, 48.0, 15.2, 0.91),
              Placed("2009.05.10-2029.05.10", 46.3, 48.0, 31.1, 0.9)]  # fmt: skip
    moved = align(placed, alignment(placed, "back"))
    assert all(abs(a.x - b.x) < 0.8 and abs(a.y - b.y) < 0.8 for a, b in zip(placed, moved, strict=True))
    assert read_back(moved, TODAY, county="五河县").fields["authority"] == "五河县公安局"


def test_a_card_rectified_askew_is_straightened_by_its_labels():
    # a corner taken about 5 mm off: the card's print sheared and stretched by 5 to 9 per cent
    askew = np.array([[1.06, 0.08, -0.6], [0.09, 0.95, 0.8]])
    for side in ("front", "back"):
        placed = []
        for label, (x, y) in ANCHORS[side].items():
            seen_x, seen_y = askew @ np.array([x, y, 1.0])
            placed.append(Placed(label, float(seen_x), float(seen_y), float(seen_x) - 2.4 * len(label) / 2, 0.95))
        back = alignment(placed, side)
        for p in placed:
            assert np.allclose(back @ np.array([p.x, p.y, 1.0]), ANCHORS[side][p.text], atol=0.05)


def test_an_authority_run_into_the_validity_dates_is_split_at_its_end():
    merged = [Placed("瑞金县公安局2018.07.21-2028.07.21", 48.0, 42.0, 30.0, 0.97)]
    reading = read_back(merged, TODAY)
    assert reading.fields == {"authority": "瑞金县公安局", "valid_from": "2018-07-21", "valid_to": "2028-07-21"}
    assert reading.errors == []
    district = [
        Placed("南京市公安局玄武分局", 48.0, 41.0, 30.0, 0.99),
        Placed("2020.01.02-长期", 48.0, 48.0, 30.0, 0.99),
    ]
    assert read_back(district, TODAY).fields["authority"] == "南京市公安局玄武分局"  # cut at the last suffix


@pytest.mark.parametrize(
    ("read", "county", "authority"),
    [
        ("城区公安局", "郾城区", "郾城区公安局"),  # 郾 left out: 城区 is a county's name too
        ("维西族自治县公安局", "维西傈僳族自治县", "维西傈僳族自治县公安局"),  # 傈僳 left out
        ("城区公安局", None, "城区公安局"),  # read alone: nothing says a character is missing
        ("霞浦县公安局", "溆浦县", "霞浦县公安局"),  # another county's name, one changed: as read
        ("县公安局", "维西傈僳族自治县", "县公安局"),  # too little left to say
    ],
)
def test_the_authority_is_the_number_s_county_when_read_with_its_rare_characters_left_out(read, county, authority):
    lines = [Placed(read, 48.0, 41.0, 30.0, 0.99), Placed("2020.01.02-长期", 48.0, 48.0, 30.0, 0.99)]
    assert read_back(lines, TODAY, county=county).fields["authority"] == authority


def test_a_birth_date_row_run_into_the_address_is_split_off_and_read_as_the_birth_date():
    want = CARDS[0].expected_fields("front")
    born = date.fromisoformat(want["birth_date"])
    lines = [("姓名", 8.9, 7.45), (want["name"], 20.0, 7.5), ("性别", 8.9, 14.4), (want["sex"], 18.0, 14.4),
             ("民族", 29.5, 14.4), (want["ethnicity"], 36.0, 14.4), ("出生", 9.0, 21.4),
             (f"{born.year}年{born.month}月{born.day}日{want['address']}", 35.0, 24.0),  # one box over two rows
             ("公民身份号码", 13.7, 46.9), (want["id_number"], 40.0, 46.9)]  # fmt: skip
    reading = read_front([Placed(text, x, y, x - 4, 0.99) for text, x, y in lines], TODAY)
    assert reading.errors == [] and reading.fields == want


def test_a_character_two_overlapping_boxes_of_one_row_both_read_is_kept_once():
    want = CARDS[0].expected_fields("front")
    born = date.fromisoformat(want["birth_date"])
    year, rest = str(born.year), f"{str(born.year)[-1]}年{born.month}月{born.day}日"

    def front(rest_left: float, blank: bool = False) -> dict[str, str]:
        # the detector split the birth row at its year's last digit and both boxes hold it (a
        # clean photograph of bench_idcard's card 58, the detector at 544 px)
        lines = [("姓名", 8.9, 7.45, 4.9), (want["name"], 20.0, 7.5, 16.0), ("性别", 8.9, 14.4, 4.9),
                 (want["sex"], 18.0, 14.4, 16.0), ("民族", 29.5, 14.4, 25.5), (want["ethnicity"], 36.0, 14.4, 32.0),
                 ("出生", 9.0, 21.4, 5.0), (year, 17.5, 21.4, 14.5), (rest, rest_left + 10.0, 21.4, rest_left),
                 ("住址", 9.0, 28.0, 5.0), (want["address"], 35.0, 29.0, 14.5),
                 ("公民身份号码", 13.7, 46.9, 6.0), (want["id_number"], 40.0, 46.9, 26.0)]  # fmt: skip
        if blank:  # a box read as nothing, overlapping the second run's first character
            lines.append(("", rest_left + 0.2, 21.4, rest_left - 0.8))
        return read_front([Placed(text, x, y, left, 0.99) for text, x, y, left in lines], TODAY).fields

    assert front(rest_left=19.6)["birth_date"] == want["birth_date"]  # overlapping the year by 0.9 mm
    assert front(rest_left=20.6)["birth_date"] != want["birth_date"]  # beside it: two characters printed
    assert front(rest_left=20.6, blank=True) == front(rest_left=20.6)  # the seam is judged by the boxes read
