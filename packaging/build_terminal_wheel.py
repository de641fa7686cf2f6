"""Build the terminal's wheel from this repository: the kiosk and only what it runs — no central
service, no model training, no demo, no synthetic fixtures, no tests — with the runtime
dependencies of pyproject.toml and the `kiosk` command. The development install (`./run`) is
the whole repository; this is what a terminal installs.

    python packaging/build_terminal_wheel.py OUT_DIR     # prints the wheel's path
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "county-terminal-kiosk"
# What the terminal carries, as paths under the repository (a folder: its .py files and the data
# listed in DATA); every other module stays out.
PACKAGES = ["county_common", "kiosk_config", "sync", "terminal_app", "ondevice_models"]
LEFT_OUT = [
    "sync/central",  # the central service
    "sync/central_cli.py",
    "ondevice_models/data.py",  # training the models (central side)
    "ondevice_models/woe.py",
    "ondevice_models/train.py",
    "ondevice_models/export.py",
]
DATA = {
    "kiosk_config": ["*.toml"],
    "ondevice_models": ["bundled/*"],
    "terminal_app.core": ["messages/*.toml"],
    "terminal_app.liveness": ["models/*"],
}


def _left_out(relative: Path) -> bool:
    return any(relative == Path(p) or Path(p) in relative.parents for p in LEFT_OUT)


def stage(into: Path) -> list[str]:
    """Copy the terminal's files into `into`; the importable packages copied."""
    packages = []
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT)
            if path.is_dir() or "__pycache__" in relative.parts or _left_out(relative):
                continue
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            if path.name == "__init__.py":
                packages.append(".".join(relative.parent.parts))
    return sorted(packages)


def project_toml(packages: list[str]) -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [
        "[build-system]",
        'requires = ["setuptools>=68"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f'name = "{DISTRIBUTION}"',
        f'version = "{project["version"]}"',
        'description = "The county service terminal: the kiosk, for a terminal install"',
        f'requires-python = "{project["requires-python"]}"',
        "dependencies = [" + ", ".join(f'"{d}"' for d in project["dependencies"]) + "]",
        "",
        "[project.scripts]",
        f'kiosk = "{project["scripts"]["kiosk"]}"',
        "",
        "[tool.setuptools]",
        "packages = [" + ", ".join(f'"{p}"' for p in packages) + "]",
        "",
        "[tool.setuptools.package-data]",
        *(f'"{package}" = [{", ".join(repr(g).replace(chr(39), chr(34)) for g in globs)}]'
          for package, globs in DATA.items()),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="terminal-wheel-") as work:
        staged = Path(work)
        packages = stage(staged)
        (staged / "pyproject.toml").write_text(project_toml(packages), encoding="utf-8")
        before = set(out.glob("*.whl"))
        pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        subprocess.run([*pip, "-w", str(out), str(staged)], check=True)  # the setuptools of ./run's venv: offline
    built = sorted(set(out.glob("*.whl")) - before) or sorted(out.glob(f"{DISTRIBUTION.replace('-', '_')}-*.whl"))
    return built[-1]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(build(Path(sys.argv[1])))
