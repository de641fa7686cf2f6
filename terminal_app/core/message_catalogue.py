"""The kiosk's words, in one catalogue keyed by code: reasons (refusals, instructions, prompts)
now, the screens' texts as they come. One TOML file a language in `messages/` (zh.toml is the
reference every other file must match key for key); `{name}` is filled from the parameters the
code carries. Screens, spoken prompts, the CLI and the reason codes all read it here."""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources

PRIMARY = "zh"  # the language every entry exists in, and the one shown when another lacks an entry


class _Unfilled(dict):
    """A parameter a template names but the reason does not carry is left as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def catalogue(language: str) -> dict[str, dict[str, str]]:
    """The `language` file's tables ({} for a language with no file)."""
    path = resources.files("terminal_app.core").joinpath("messages", f"{language}.toml")
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def languages() -> list[str]:
    folder = resources.files("terminal_app.core").joinpath("messages")
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))


def template(language: str, table: str, key: str) -> str | None:
    return catalogue(language).get(table, {}).get(key)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def render(language: str, table: str, key: str, params: dict[str, object]) -> str | None:
    """The entry in `language` (else in the primary language) filled with `params`; None if
    neither has it."""
    text = template(language, table, key) or template(PRIMARY, table, key)
    return None if text is None else text.format_map(_Unfilled({k: str(v) for k, v in params.items()}))


def words(language: str, table: str, key: str, **params: object) -> str:
    """The entry filled with `params`, in `language` or else the primary one; KeyError if
    neither has it (a screen asking for words nobody wrote is a bug)."""
    text = render(language, table, key, params)
    if text is None:
        raise KeyError(f"[{table}] {key} is in no message file")
    return text


CONSENT_KEYS = ("consent_intro", "consent_id_title", "consent_id_body", "consent_bio_title", "consent_bio_body")


def consent_text_version(language: str) -> str:
    """Which consent text an applicant saw: a digest of its words in `language` (recorded with
    the consent, so a changed text is a new version without anyone bumping a number)."""
    import hashlib

    text = "\n".join(words(language, "screen", key) for key in CONSENT_KEYS)
    return f"consent-{language}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
