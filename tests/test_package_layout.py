"""The packages' import graph, read from the source (every import, those inside functions too):
the top-level packages form layers with no cycle, the central service is not imported by the
terminal, the core imports no UI toolkit, and the demo and the synthetic fixtures (kiosk_demo)
sit on top, imported by no production package."""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("county_common", "ondevice_models", "kiosk_config", "sync", "terminal_app", "kiosk_demo")
# What each package may import of the others: each layer only from the layers below it.
MAY_IMPORT = {
    "county_common": set(),
    "ondevice_models": {"county_common"},
    "kiosk_config": {"county_common", "ondevice_models"},
    "sync": {"county_common", "ondevice_models", "kiosk_config"},
    "terminal_app": {"county_common", "ondevice_models", "kiosk_config", "sync"},
    "kiosk_demo": {"county_common", "ondevice_models", "kiosk_config", "sync", "terminal_app"},
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path, package: str) -> set[str]:
    """Every module `path` (a module of `package`) imports, absolute or relative, at the top or
    inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def project_modules() -> dict[str, set[str]]:
    paths = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    return {module_name(path): imports_of(path, _package_of(path)) for path in paths}


def package_graph(modules: dict[str, set[str]]) -> dict[str, set[tuple[str, str]]]:
    """package -> {(importing module, imported module)} across packages."""
    edges: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for module, imported in modules.items():
        own = module.split(".")[0]
        for name in imported:
            top = name.split(".")[0]
            if top in PACKAGES and top != own:
                edges[own].add((module, name))
    return edges


def test_the_reader_sees_relative_and_function_level_imports(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("from .x import y\n\ndef f():\n    import sync.envelope\n", encoding="utf-8")
    found = imports_of(source, "terminal_app.core")
    assert {"sync.envelope", "terminal_app.core.x.y"} <= found


def test_the_top_level_packages_import_each_other_without_a_cycle():
    edges = package_graph(project_modules())
    order = graphlib.TopologicalSorter({p: {n.split(".")[0] for _, n in edges[p]} for p in PACKAGES})
    order.prepare()  # raises CycleError naming the cycle
    wrong = sorted(
        f"{module} imports {name}"
        for package, pairs in edges.items()
        for module, name in pairs
        if name.split(".")[0] not in MAY_IMPORT[package]
    )
    assert wrong == []


def test_the_terminal_does_not_import_the_central_service():
    modules = project_modules()
    wrong = sorted(
        f"{module} imports {name}"
        for module, imported in modules.items()
        if module.startswith(("terminal_app.core", "terminal_app.capture", "terminal_app.liveness", "terminal_app.ui"))
        for name in imported
        if name.startswith(("sync.central", "fastapi", "sqlalchemy", "uvicorn"))
    )
    assert wrong == []


def test_only_the_kiosk_command_layer_wires_the_engines_and_a_session():
    """The CLI, the demo and the screens call Kiosk (capture_engine, liveness_engine, new_session)
    instead of building the engines themselves."""
    builders = {"IdCardCapture", "CameraLivenessEngine", "ApplicantSession"}
    defining = {"terminal_app.core.kiosk", "terminal_app.capture.card_capture", "terminal_app.liveness.engine",
                "terminal_app.core.session"}  # fmt: skip
    built = []
    for path in (ROOT / "terminal_app").rglob("*.py"):
        if module_name(path) in defining:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in builders:
                built.append(f"{module_name(path)}:{node.lineno} builds {node.func.id}")
    assert built == []


def test_the_core_imports_no_ui_toolkit_and_the_fixtures_live_only_in_the_demo_package():
    modules = project_modules()
    ui = sorted(m for m, imported in modules.items() if m.startswith("terminal_app.core")
                for n in imported if n.split(".")[0] in ("kivy", "PySide6", "tkinter"))  # fmt: skip
    assert ui == []
    misplaced = sorted(m for m in modules if "synthetic" in m and not m.startswith("kiosk_demo."))
    assert misplaced == []
    fixture_libraries = sorted(
        f"{module} imports {name}"
        for module, imported in modules.items()
        if not module.startswith("kiosk_demo")
        for name in imported
        if name.split(".")[0] in ("skimage", "matplotlib")  # the portraits the face fixtures start from
    )
    assert fixture_libraries == []


def test_the_central_services_run_no_sql_of_their_own():
    """Every query of the central service is a method of its store (sync/central/store.py)."""
    sql = sorted(
        f"{module} imports {name}"
        for module, imported in project_modules().items()
        if module.startswith(("sync.central", "sync.central_cli")) and module != "sync.central.store"
        for name in imported
        if name.startswith("sqlalchemy") and not name.startswith("sqlalchemy.exc")
    )
    assert sql == []
