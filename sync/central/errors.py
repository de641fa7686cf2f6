"""A refusal by the central service: a stable protocol code (sync/PROTOCOL.md), an HTTP status and
a message for people."""

from __future__ import annotations


class CentralError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
