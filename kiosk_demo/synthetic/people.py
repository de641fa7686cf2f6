"""Synthetic applicants for tests and the demo: made-up names, valid ID numbers (real region
codes, birth date and sex digit consistent), phone numbers. Deterministic for a seed.
No real person's data: names are drawn character by character from common-character lists."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from county_common.regions import county_codes, lookup_region
from terminal_app.core.id_number import check_character

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国峰成志新文东海"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂丹萍红梅琳雪倩婷慧莉颖琴云兰凤洁英玉珍秀月春"
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)


@dataclass(frozen=True)
class SyntheticPerson:
    name: str
    sex: str  # "M" / "F"
    birth_date: date
    id_number: str
    phone: str
    region_code: str


def make_id_number(rng: random.Random, region_code: str, birth: date, sex: str) -> str:
    sequence = rng.randrange(1, 499) * 2 + (1 if sex == "M" else 0)
    body = f"{region_code}{birth:%Y%m%d}{sequence:03d}"  # odd sequence for men, even for women
    return body + check_character(body)


def corrupt_check_character(number: str) -> str:
    """The same number with a wrong check character (what a misread digit looks like)."""
    right = number[17]
    wrong = "0" if right != "0" else "1"
    return number[:17] + wrong


def make_people(
    count: int, *, seed: int, today: date, county: str | None = None, min_age: int = 20, max_age: int = 58
) -> list[SyntheticPerson]:
    """`count` people; about half registered in `county`'s prefecture, the rest anywhere."""
    rng = random.Random(seed)
    all_codes = county_codes(current_only=False)
    local = [c for c in all_codes if county and c[:4] == county[:4]] or all_codes
    people = []
    for _ in range(count):
        sex = rng.choice("MF")
        given = GIVEN_MALE if sex == "M" else GIVEN_FEMALE
        name = rng.choice(SURNAMES) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2))))
        age_days = rng.randrange(min_age * 366, max_age * 365)
        birth = today - timedelta(days=age_days)
        region = rng.choice(local if rng.random() < 0.5 else all_codes)
        assert lookup_region(region) is not None
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        people.append(SyntheticPerson(name, sex, birth, make_id_number(rng, region, birth, sex), phone, region))
    return people
