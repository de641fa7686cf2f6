"""GB 11643-1999 citizen identity numbers: 6-digit region, 8-digit birth date, 3-digit
sequence (odd for men, even for women), one MOD 11-2 check character (0-9 or X)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from county_common.regions import Region, lookup_region
from terminal_app.core.reasons import Reason

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)


def check_character(body: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(body) != 17 or not body.isdigit():
        raise ValueError("the body of an ID number is exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(body, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise(raw: str) -> str:
    """Strip spaces and make a lowercase x in the last place uppercase."""
    number = "".join(raw.split())
    if number.endswith("x"):
        number = number[:-1] + "X"
    return number


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class IdNumberCheck:
    """What validating one ID number found. Fields derived from the number are set only
    when the number itself is well formed (check character, date and region all right)."""

    number: str
    valid: bool
    reason: Reason
    birth_date: date | None = None
    sex: str | None = None  # "M" or "F"
    region: Region | None = None
    age: int | None = None
    warnings: tuple[Reason, ...] = field(default=())

    def as_json(self) -> dict:
        return {
            "valid": self.valid,
            "reason": self.reason.as_dict(),
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "region": (
                {
                    "code": self.region.code,
                    "name": self.region.full_name,
                    "current": self.region.current,
                    "abolished_year": self.region.abolished_year,
                }
                if self.region
                else None
            ),
        }


OK = Reason("ok")


def _invalid(number: str, reason: Reason) -> IdNumberCheck:
    return IdNumberCheck(number=number, valid=False, reason=reason)


def validate_id_number(raw: str, *, today: date, min_age: int = 18, max_age: int = 65) -> IdNumberCheck:
    """Validate an 18-character ID number and the applicant's age on `today`."""
    number = normalise(raw)
    if not number:
        return _invalid(number, Reason("empty"))
    if len(number) != 18:
        return _invalid(
            number,
            Reason("length", length=len(number)),
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return _invalid(
            number,
            Reason("characters"),
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        return _invalid(
            number,
            Reason("check_character"),
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return _invalid(
            number,
            Reason("birth_date_invalid"),
        )
    if birth > today:
        return _invalid(
            number,
            Reason("birth_date_future"),
        )
    if birth < EARLIEST_BIRTH:
        return _invalid(
            number,
            Reason("birth_date_too_early"),
        )
    region = lookup_region(number[:6])
    if region is None:
        return _invalid(
            number,
            Reason("region_unknown"),
        )
    sex = "M" if int(number[16]) % 2 else "F"
    age = age_on(birth, today)
    derived = {"birth_date": birth, "sex": sex, "region": region, "age": age}
    if age < min_age:
        return IdNumberCheck(
            number,
            False,
            Reason("age_too_low", min_age=min_age),
            **derived,
        )
    if age > max_age:
        return IdNumberCheck(
            number,
            False,
            Reason("age_too_high", max_age=max_age),
            **derived,
        )
    warnings: tuple[Reason, ...] = ()
    if not region.current:
        warnings = (
            Reason("region_historical", year=region.abolished_year),
        )
    return IdNumberCheck(number, True, OK, warnings=warnings, **derived)


def printed_field_mismatches(check: IdNumberCheck, *, birth_date: date | None, sex: str | None) -> list[Reason]:
    """Compare the birth date and sex printed on the card with what the number encodes."""
    problems: list[Reason] = []
    if birth_date is not None and check.birth_date is not None and birth_date != check.birth_date:
        problems.append(
            Reason("birth_date_mismatch")
        )
    if sex is not None and check.sex is not None and sex != check.sex:
        problems.append(
            Reason("sex_mismatch")
        )
    return problems
