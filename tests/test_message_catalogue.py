"""The kiosk's words come from one catalogue keyed by code (terminal_app/core/messages/): every
language file has every entry of the reference language with the same placeholders, every
reason the code can raise has its words there, and a reason renders in any language."""

from __future__ import annotations

import ast
from pathlib import Path

from terminal_app.core import message_catalogue as mc
from terminal_app.core.reasons import Reason

ROOT = Path(__file__).resolve().parent.parent


def reason_keys_in_source() -> dict[str, set[str]]:
    """Every catalogue key a `Reason(...)` in the terminal's code names (its `key=`, else its code
    when that is written out), with the values every such call gives it."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "terminal_app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Reason"):
                continue
            given = {k.arg for k in node.keywords if k.arg not in ("key", "texts")}
            key = next((k.value for k in node.keywords if k.arg == "key"), None)
            if isinstance(key, ast.Constant):
                name = key.value
            elif node.args and isinstance(node.args[0], ast.Constant):
                name = node.args[0].value
            elif any(k.arg == "texts" for k in node.keywords):
                continue  # words that travel with signed data
            else:
                name = f"<a computed code without key= at {path.name}:{node.lineno}>"
            found[name] = found[name] & given if name in found else given
    return found


def test_every_language_has_every_entry_and_fills_in_only_what_the_code_gives():
    reference = mc.catalogue(mc.PRIMARY)
    assert reference["reason"] and mc.languages() == sorted(set(mc.languages())) and "en" in mc.languages()
    for language in mc.languages():
        tables = mc.catalogue(language)
        assert tables.keys() == reference.keys(), language
        for table, entries in reference.items():
            assert tables[table].keys() == entries.keys(), (language, table)
            for key in entries:
                assert tables[table][key].strip(), (language, key)
    given = reason_keys_in_source()
    unfilled = {
        (language, key): sorted(mc.placeholders(text) - given[key])
        for language in mc.languages()
        for key, text in mc.catalogue(language)["reason"].items()
        if key in given and mc.placeholders(text) - given[key]
    }
    assert unfilled == {}


def test_every_reason_the_code_names_has_its_words_in_the_catalogue():
    missing = sorted(key for key in reason_keys_in_source() if key not in mc.catalogue(mc.PRIMARY)["reason"])
    assert missing == []


def test_a_reason_is_rendered_with_its_values_in_any_language_and_falls_back_to_chinese():
    too_short = Reason("length", length=17)
    assert too_short.en == "An ID number has 18 characters; this one has 17" and "17位" in too_short.zh
    assert too_short.text("bo") == too_short.zh  # a language the kiosk does not ship: the primary one
    assert too_short == Reason("length", length=17) != Reason("length", length=16)
    assert too_short.as_dict() == {"code": "length", "zh": too_short.zh, "en": too_short.en}
    shared = Reason("amount_outside_line", key="amount_outside", low=5000, high=100000)
    assert shared.code == "amount_outside_line" and "5000" in shared.en and "100000" in shared.zh
    carried = Reason("credit.duration", texts={"zh": "期限较长", "en": "long duration"})  # a model card's words
    assert carried.en == "long duration" and carried.text("bo") == "期限较长"
    assert Reason("never_catalogued").en == "never_catalogued"  # a code without words still shows something
