"""Read a TOML config file into a KioskConfig, or say exactly which fields are wrong."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from kiosk_config.schema import KioskConfig


class ConfigError(Exception):
    """The config cannot be used. `problems` holds one line per invalid field."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"invalid config {path}:\n" + "\n".join(f"  {p}" for p in problems))


def default_config_path() -> Path:
    return Path(str(resources.files("kiosk_config").joinpath("default.toml")))


def _field_name(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        elif item in ("function-after", "function-before") or str(item).startswith("function-"):
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def field_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        name = _field_name(tuple(error["loc"]))
        if error["type"] == "extra_forbidden":
            message = "unknown field (a typo?)"
        problems.append(f"{name}: {message}")
    return problems


def parse_config(data: dict, *, source: str = "<dict>") -> KioskConfig:
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, field_problems(exc)) from None


def load_config(path: Path | str | None = None) -> KioskConfig:
    """Load and validate a config file (the embedded default when path is None)."""
    path = Path(path) if path is not None else default_config_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, [f"(file): cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, ["(file): not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"(file): not valid TOML: {exc}"]) from None
    return parse_config(data, source=str(path))


def config_for_central(url: str, hpke_public_key: str, signing_public_keys: list[str]) -> str:
    """The embedded default config's text with another central service's URL and public keys
    (base64), comments kept: what an installer writes for a terminal of that service."""
    text = default_config_path().read_text(encoding="utf-8")
    keys = ", ".join(f'"{key}"' for key in signing_public_keys)
    for pattern, line in (
        (r'(?m)^url = ".*"$', f'url = "{url}"'),
        (r'(?m)^hpke_public_key = ".*"$', f'hpke_public_key = "{hpke_public_key}"'),
        (r"(?m)^signing_public_keys = \[.*\]$", f"signing_public_keys = [{keys}]"),
    ):
        text, count = re.subn(pattern, line.replace("\\", "\\\\"), text, count=1)
        assert count == 1, pattern  # the embedded config always has these lines
    return text
