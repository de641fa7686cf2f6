from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kiosk_config import ConfigError, default_config_path, load_config
from terminal_app.core.kiosk import Kiosk

DEFAULT = tomllib.loads(default_config_path().read_text("utf-8"))


def write_toml(path: Path, data: dict) -> Path:
    import json

    def value(v):
        return json.dumps(v, ensure_ascii=False) if not isinstance(v, bool) else str(v).lower()

    lines: list[str] = []

    def emit(prefix: str, table: dict):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_list(v)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {value(v)}" for k, v in scalars.items())
        for k, v in table.items():
            if isinstance(v, dict):
                emit(f"{prefix}.{k}" if prefix else k, v)
            elif _is_table_list(v):
                for item in v:
                    lines.append(f"[[{prefix}.{k}]]" if prefix else f"[[{k}]]")
                    lines.extend(f"{ik} = {value(iv)}" for ik, iv in item.items())

    emit("", data)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _is_table_list(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v)


def kiosk_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "terminal_app", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_embedded_default_is_valid():
    cfg = load_config()
    assert cfg.catalogue.min_line == 5000 and cfg.catalogue.max_line == 100000
    assert cfg.catalogue.terms == [3, 6, 9, 12]
    assert str(cfg.catalogue.good_customer_discount) == "0.15"


def test_roundtrip_writer_reproduces_the_default(tmp_path):
    assert load_config(write_toml(tmp_path / "c.toml", DEFAULT)) == load_config()


def broken_config() -> dict:
    import copy

    data = copy.deepcopy(DEFAULT)
    data["terminal"]["county"] = "999999"
    data["terminal"]["idle_timeout_s"] = 5
    data["central"]["hpke_public_key"] = "not-base64!"
    data["catalogue"]["terms"] = [3, 5]
    data["catalogue"]["purposes"][0]["colour"] = "red"
    data["risk"]["fraud_refer"] = 900
    return data


def test_check_names_every_invalid_field_and_exits_2(tmp_path):
    path = write_toml(tmp_path / "bad.toml", broken_config())
    result = kiosk_cli("config", "check", str(path))
    assert result.returncode == 2
    for field in (
        "terminal.county",
        "terminal.idle_timeout_s",
        "central.hpke_public_key",
        "catalogue.terms[1]",
        "catalogue.purposes[0].colour",
        "risk",
    ):
        assert field in result.stderr, field
    assert "999999 is not a GB/T 2260 division code" in result.stderr
    assert "unknown field" in result.stderr


def test_check_valid_file_prints_summary(tmp_path):
    result = kiosk_cli("config", "check", str(default_config_path()))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "T-422801-0001" in result.stdout and "green_ev*" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[terminal\nid = 1", "not valid TOML"), (b"\xff\xfe\x00", "not UTF-8"), (None, "cannot read")],
)
def test_unreadable_files_are_named(tmp_path, content, message):
    path = tmp_path / "c.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "field"),
    [
        ("terminal", "id", "T-110101-0001", "terminal"),  # id does not carry the county
        ("terminal", "county", "420000", "terminal.county"),  # a province, not a county
        ("catalogue", "min_line", 1000, "catalogue.min_line"),
        ("catalogue", "base_annual_rate", "0.30", "catalogue.base_annual_rate"),
        ("identity", "min_age", 16, "identity.min_age"),
        ("central", "signing_public_keys", [], "central.signing_public_keys"),
        ("camera", "device", "video0", "camera.device"),  # an index or a path under /dev/
        ("camera", "fps", 0, "camera.fps"),
    ],
)
def test_single_bad_field_is_reported_by_name(tmp_path, section, key, value, field):
    import copy

    data = copy.deepcopy(DEFAULT)
    data[section][key] = value
    with pytest.raises(ConfigError) as error:
        load_config(write_toml(tmp_path / "c.toml", data))
    assert any(p.startswith(field + ":") for p in error.value.problems), error.value.problems


def test_kiosk_refuses_to_start_on_invalid_config(tmp_path):
    path = write_toml(tmp_path / "bad.toml", broken_config())
    with pytest.raises(ConfigError):
        Kiosk.start(path, tmp_path / "data")
    assert not (tmp_path / "data").exists()  # nothing was created for a kiosk that did not start
    result = kiosk_cli("--config", str(path), "--data-dir", str(tmp_path / "d2"), "status")
    assert result.returncode == 2
    assert "will not start" in result.stderr and "terminal.county" in result.stderr


def test_the_camera_is_the_terminals_own_and_no_central_update_sets_it(tmp_path):
    from kiosk_config.updates import CONFIG_FILE, ConfigOverlay, ContentError, read_config_overlay

    config = load_config()
    assert (config.camera.device, config.camera.width, config.camera.height, config.camera.fps) == (0, 1280, 720, 15)
    assert "camera" not in ConfigOverlay.model_fields
    with pytest.raises(ContentError):
        read_config_overlay({CONFIG_FILE: b"[camera]\ndevice = 1\n"})
    kiosk = Kiosk.start(None, tmp_path / "data")
    try:
        camera = kiosk.open_camera()  # device 0: none on this machine, so it says so and keeps retrying
        assert camera.size == (1280, 720) and camera.fps == 15
        assert camera.read() is None and camera.status.code == "camera_missing"
        camera.close()
    finally:
        kiosk.close()
