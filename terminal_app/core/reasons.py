"""Reasons shown to a person: a stable code for machines, and its words from the message
catalogue (core/message_catalogue.py) in any language the kiosk ships, filled with the values
the reason carries. A reason whose words travel with signed data (a model card's reason texts)
carries them itself; the catalogue fills in the languages they lack."""

from __future__ import annotations

from collections.abc import Mapping

from terminal_app.core.message_catalogue import PRIMARY, render

TABLE = "reason"


class Reason:
    """`Reason("length", length=17)`: code "length", its catalogue text filled with length=17.
    `key` names another catalogue entry for the words (several codes can share them)."""

    __slots__ = ("code", "key", "params", "texts")

    def __init__(self, code: str, /, *, key: str | None = None, texts: Mapping[str, str] | None = None, **params):
        self.code = code
        self.key = key or code
        self.params = tuple(sorted((name, str(value)) for name, value in params.items()))
        self.texts = tuple(sorted((texts or {}).items()))

    def text(self, language: str = PRIMARY) -> str:
        """The words in `language`: its own text, else the catalogue's, else the primary
        language's; the code itself if none has any."""
        own = dict(self.texts)
        if language in own:
            return own[language]
        rendered = render(language, TABLE, self.key, dict(self.params))
        if rendered is not None:
            return rendered
        return own.get(PRIMARY) or self.code

    @property
    def zh(self) -> str:
        return self.text("zh")

    @property
    def en(self) -> str:
        return self.text("en")

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}

    def _identity(self) -> tuple:
        return (self.code, self.key, self.params, self.texts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reason) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        extra = "".join(f", {name}={value!r}" for name, value in self.params)
        return f"Reason({self.code!r}{extra})"

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


class ReasonError(Exception):
    """An error whose message a person at the kiosk can read (both languages)."""

    def __init__(self, reason: Reason):
        super().__init__(str(reason))
        self.reason = reason

    @property
    def code(self) -> str:
        return self.reason.code
