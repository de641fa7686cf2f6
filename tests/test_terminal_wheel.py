"""The terminal's wheel, built from the repository as a terminal installs it: the kiosk without
the central service, model training, the demo or the synthetic fixtures, nor their dependencies;
installed beside nothing else of the project's, `kiosk status` runs and `kiosk demo` says what to
install instead of failing with a traceback."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))
from build_terminal_wheel import build  # noqa: E402

pytestmark = pytest.mark.e2e  # the whole product: ./run test runs it, the developer loop does not


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_the_kiosk_and_nothing_of_the_central_side_or_the_fixtures(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"county_common", "kiosk_config", "ondevice_models", "sync", "terminal_app"}
    for needed in ("terminal_app/cli.py", "terminal_app/core/kiosk.py", "terminal_app/core/messages/zh.toml",
                   "terminal_app/liveness/models/face_landmark.tflite", "ondevice_models/bundled/gbm.onnx",
                   "ondevice_models/runtime.py", "sync/envelope.py", "kiosk_config/default.toml"):  # fmt: skip
        assert needed in names
    central_side = ("sync/central", "kiosk_demo", "tests/", "bench/", "ondevice_models/train", "ondevice_models/export")
    unwanted = [n for n in names if n.startswith(central_side) or "synthetic" in n]
    assert unwanted == []
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = email.message_from_bytes(zipfile.ZipFile(wheel).read(meta)).get_all("Requires-Dist")
    required = {r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in requires}
    assert {"onnxruntime", "rapidocr-onnxruntime", "cryptography"} <= required
    assert not required & {"scikit-image", "matplotlib", "fastapi", "uvicorn", "sqlalchemy", "lightgbm", "pandas"}
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert zipfile.ZipFile(wheel).read(entry_points).decode().split() == ["[console_scripts]", "kiosk", "=",
                                                                           "terminal_app.cli:main"]  # fmt: skip


def test_installed_alone_the_terminal_runs_its_commands_and_names_what_the_demo_needs(wheel, tmp_path):
    """A fresh environment with the third-party packages of this one but none of the project's
    own (the development install is left out), and the wheel unpacked into it."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    third_party = tmp_path / "third_party"
    third_party.mkdir()
    ours = ("__editable__", "county_terminal", "county_common", "terminal_app", "sync", "kiosk_config",
            "ondevice_models", "kiosk_demo", "tests")  # fmt: skip
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(ours) and entry.suffix != ".pth":
            (third_party / entry.name).symlink_to(entry)
    zipfile.ZipFile(wheel).extractall(site)
    (site / "third_party.pth").write_text(f"{third_party}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)} | {"KIOSK_DATA_DIR": str(tmp_path / "data")}

    def kiosk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([python, "-c", "from terminal_app.cli import main; main()", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip

    where = subprocess.run([python, "-c", "import terminal_app, sync; print(terminal_app.__file__, sync.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip
    assert where.stdout.split() and all(path.startswith(str(site)) for path in where.stdout.split())
    status = kiosk("status", "--json")
    assert status.returncode == 0, status.stderr
    assert '"terminal_id": "T-422801-0001"' in status.stdout
    demo = kiosk("demo", "--applicants", "3", "--keep", str(tmp_path / "demo"))
    assert demo.returncode == 2 and "not part of a terminal install" in demo.stderr and "Traceback" not in demo.stderr
    central = subprocess.run([python, "-c", "import sync.central"], capture_output=True, text=True, env=env,
                             cwd=tmp_path)  # fmt: skip
    assert central.returncode != 0 and "ModuleNotFoundError" in central.stderr
