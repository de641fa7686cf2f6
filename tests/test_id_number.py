from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from county_common.regions import lookup_region
from terminal_app.core.id_number import (
    check_character,
    normalise,
    printed_field_mismatches,
    validate_id_number,
)

from .conftest import TODAY, id_number


def check(raw: str, **kw):
    return validate_id_number(raw, today=TODAY, **kw)


def test_check_character_matches_the_gb11643_worked_example():
    # The standard's own example body; its check character is X.
    assert check_character("11010519491231002") == "X"


def test_valid_number_gives_birth_date_sex_and_region():
    number = id_number("422801", date(1990, 3, 7), "F")
    result = check(number)
    assert result.valid, result.reason
    assert result.birth_date == date(1990, 3, 7)
    assert result.sex == "F"
    assert result.region.full_name == "湖北省 恩施土家族苗族自治州 恩施市"
    assert result.age == 36


def test_sex_comes_from_the_17th_digit():
    assert check(id_number(sex="M")).sex == "M"
    assert check(id_number(sex="F")).sex == "F"


def test_lowercase_x_is_accepted_and_normalised():
    # find a generated number whose check character is X
    number = next(n for s in range(200) if (n := id_number(seed=s)).endswith("X"))
    result = check(number[:-1] + "x")
    assert result.valid
    assert result.number == number
    assert normalise(" 4228 01x ") == "422801X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("42280119900307", "length"),
        ("4228011990030700123", "length"),
        ("42280119900307A01X", "characters"),
        ("X22801199003070011", "characters"),
    ],
)
def test_malformed_numbers_get_specific_reasons(raw, code):
    result = check(raw)
    assert not result.valid
    assert result.reason.code == code
    assert result.birth_date is None and result.region is None


def test_every_single_digit_change_is_caught_by_the_check_character():
    number = id_number()
    for position in range(17):
        digit = int(number[position])
        wrong = number[:position] + str((digit + 1) % 10) + number[position + 1 :]
        result = check(wrong)
        assert not result.valid
        assert result.reason.code in {"check_character", "birth_date_invalid", "region_unknown"}
        if result.reason.code == "check_character":
            assert "check character" in result.reason.en and "校验位" in result.reason.zh


def _with_check(body: str) -> str:
    return body + check_character(body)


def test_impossible_birth_date_is_refused():
    assert check(_with_check("42280119900230001")).reason.code == "birth_date_invalid"  # 30 February
    assert check(_with_check("42280120310101001")).reason.code == "birth_date_future"
    assert check(_with_check("42280118890101001")).reason.code == "birth_date_too_early"


def test_unknown_region_code_is_refused():
    result = check(_with_check("99999919900307001"))
    assert result.reason.code == "region_unknown"


def test_abolished_region_code_stays_valid_with_a_note():
    # 110103 Beijing Chongwen district was merged away in 2010; old cards keep the code.
    region = lookup_region("110103")
    assert region is not None and not region.current and region.abolished_year == 2009
    result = check(id_number("110103", date(1975, 6, 1)))
    assert result.valid
    assert [w.code for w in result.warnings] == ["region_historical"]


def test_age_limits_come_from_the_caller():
    young = id_number(birth=date(2010, 1, 1))
    old = id_number(birth=date(1950, 1, 1))
    assert check(young, min_age=18).reason.code == "age_too_low"
    assert check(old, max_age=60).reason.code == "age_too_high"
    assert check(old, max_age=80).valid
    # 18th birthday today: allowed; tomorrow: not yet
    assert check(id_number(birth=date(2008, 11, 25))).valid
    assert check(id_number(birth=date(2008, 11, 26))).reason.code == "age_too_low"


def test_printed_fields_must_agree_with_the_number():
    result = check(id_number(birth=date(1990, 3, 7), sex="M"))
    assert printed_field_mismatches(result, birth_date=date(1990, 3, 7), sex="M") == []
    codes = [r.code for r in printed_field_mismatches(result, birth_date=date(1990, 3, 8), sex="F")]
    assert codes == ["birth_date_mismatch", "sex_mismatch"]


@given(st.text(alphabet="0123456789Xx ", max_size=20))
def test_no_string_is_valid_unless_its_check_character_is_right(raw):
    result = check(raw)
    if result.valid:
        number = normalise(raw)
        assert check_character(number[:17]) == number[17]
