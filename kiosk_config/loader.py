"""Read a TOML config file into a KioskConfig, or say exactly which fields are wrong."""

from __future__ import annotations

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
