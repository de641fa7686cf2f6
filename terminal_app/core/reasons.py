"""Reasons shown to a person: a stable code for machines, and the text in Chinese and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}

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
