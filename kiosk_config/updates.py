"""What the files inside downstream updates hold (see sync/update.py for the signed container).
The central side checks them before signing, the terminal again before applying.

- config: `config.toml`, the central-managed sections; each one present replaces the terminal's
  section whole. The terminal's own identity (`[terminal]`) never comes from central.
- roster: `roster.json`, every field agent who may log in at this terminal, with scrypt PIN hashes.
- blocklist: `blocklist.json`, HMAC-SHA256 digests of ID numbers and phone numbers, and the key.
- model: `model_card.json` and the ONNX files it lists, checked by ondevice_models.runtime.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from kiosk_config.loader import field_problems
from kiosk_config.schema import (
    Agents,
    Catalogue,
    Central,
    Guardrails,
    Identity,
    KioskConfig,
    Liveness,
    Retention,
    Risk,
    SecretKey,
    StepTimeouts,
    _Strict,
)

CONFIG_FILE = "config.toml"
ROSTER_FILE = "roster.json"
BLOCKLIST_FILE = "blocklist.json"
MODEL_CARD_FILE = "model_card.json"
MAX_ROSTER_AGENTS = 10_000
_SCRYPT = re.compile(r"scrypt\$([0-9]+)\$([0-9]+)\$([0-9]+)\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=")


class ContentError(ValueError):
    """An update's content fails its schema; `problems` names each field."""

    def __init__(self, kind: str, problems: list[str]):
        self.kind = kind
        self.problems = problems
        super().__init__(f"{kind} update: " + "; ".join(problems))


class ConfigOverlay(_Strict):
    central: Central | None = None
    identity: Identity | None = None
    liveness: Liveness | None = None
    catalogue: Catalogue | None = None
    risk: Risk | None = None
    timeouts: StepTimeouts | None = None
    agents: Agents | None = None
    guardrails: Guardrails | None = None
    retention: Retention | None = None

    def apply_to(self, base: KioskConfig) -> KioskConfig:
        """`base` with this update's sections in place of its own; ContentError if that is invalid."""
        merged = base.model_dump(mode="json")
        merged.update(self.model_dump(mode="json", exclude_none=True))
        return _validated("config", KioskConfig, merged)


class RosterEntry(_Strict):
    agent_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,32}$")
    role: Literal["agent", "supervisor"]
    county: str = Field(pattern=r"^[0-9]{6}$")
    pin_hash: str
    active: bool = True

    @field_validator("pin_hash")
    @classmethod
    def _scrypt(cls, value: str) -> str:
        match = _SCRYPT.fullmatch(value)
        if not match:
            raise ValueError("must be scrypt$N$r$p$salt$hash as `kiosk agent hash-pin` prints")
        n, r, p = (int(g) for g in match.groups())
        if n not in (2**14, 2**15, 2**16, 2**17) or r != 8 or not 1 <= p <= 2:
            raise ValueError("scrypt parameters must be N 2^14..2^17, r 8, p 1..2 (a terminal has 2 cores)")
        return value


class Roster(_Strict):
    agents: list[RosterEntry] = Field(max_length=MAX_ROSTER_AGENTS)

    @model_validator(mode="after")
    def _unique(self) -> Roster:
        ids = [a.agent_id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise ValueError("an agent_id is listed twice")
        return self


Digest = Field(pattern=r"^[0-9a-f]{64}$")


class BlocklistFile(_Strict):
    algorithm: Literal["hmac-sha256"] = "hmac-sha256"
    key: SecretKey = Field(description="base64 of the 32-byte HMAC key")
    id_numbers: list[str] = Field(default=[], description="hex HMAC of 'id:' + the 18-character ID number")
    phones: list[str] = Field(default=[], description="hex HMAC of 'phone:' + the 11-digit mobile number")

    @field_validator("id_numbers", "phones")
    @classmethod
    def _hex(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[0-9a-f]{64}", value):
                raise ValueError("entries are 64 lower-case hex characters")
        return values


def _validated(kind: str, model: type[_Strict], data: object) -> _Strict:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContentError(kind, field_problems(exc)) from None


def _json(kind: str, files: dict[str, bytes], name: str) -> object:
    if name not in files:
        raise ContentError(kind, [f"{name}: missing from the update"])
    try:
        return json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ContentError(kind, [f"{name}: not UTF-8 JSON ({exc})"]) from None


def read_config_overlay(files: dict[str, bytes]) -> ConfigOverlay:
    if CONFIG_FILE not in files:
        raise ContentError("config", [f"{CONFIG_FILE}: missing from the update"])
    try:
        data = tomllib.loads(files[CONFIG_FILE].decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ContentError("config", [f"{CONFIG_FILE}: not UTF-8 TOML ({exc})"]) from None
    overlay = _validated("config", ConfigOverlay, data)
    if not overlay.model_fields_set:
        raise ContentError("config", [f"{CONFIG_FILE}: names no section to change"])
    return overlay


def read_roster(files: dict[str, bytes]) -> Roster:
    return _validated("roster", Roster, _json("roster", files, ROSTER_FILE))


def read_blocklist(files: dict[str, bytes]) -> BlocklistFile:
    return _validated("blocklist", BlocklistFile, _json("blocklist", files, BLOCKLIST_FILE))


def read_model_bundle(files: dict[str, bytes]):
    """The bundle, loaded and checked as the terminal uses it: card schema, ONNX graphs against
    the card, the card's golden rows reproduced. Returns an ondevice_models ModelBundle."""
    from ondevice_models.runtime import BundleError, ModelBundle  # onnxruntime: only when needed

    try:
        return ModelBundle.from_files(files)
    except BundleError as error:
        raise ContentError("model", error.problems) from None


READERS = {
    "config": read_config_overlay,
    "roster": read_roster,
    "blocklist": read_blocklist,
    "model": read_model_bundle,
}
