"""The house rules of docs/architecture.md, checked on the import graph of every module (imports inside
functions included): no import circles, the library never imports the command line, and each stage
imports only the stages below it."""

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "tf_crnn"
#: The original tf-crnn's import paths: they re-export, so they may import any stage.
FACADES = {"config", "loader", "data_handler", "preprocessing", "callbacks"}
#: What each part of tf_crnn may import (top-level modules by name, stages by package).
ALLOWED = {
    "errors": set(),
    "geometry": set(),
    "layout": {"errors"},
    "metrics": set(),
    "utils": {"errors"},
    "params": {"errors", "geometry", "layout", "utils", "data.text", "data.formats"},
    "data": {"errors", "geometry", "layout", "utils", "params"},
    "synth": {"errors", "geometry", "utils", "params", "data"},
    "model": {"errors", "geometry", "params", "data"},
    "serve": {"errors", "geometry", "layout", "metrics", "utils", "params", "data", "model"},
    "report": {"errors", "geometry", "layout", "metrics", "utils", "params", "data", "synth"},
    "datasets": {"errors", "layout", "utils", "params", "data"},
    "train": {
        "errors",
        "geometry",
        "layout",
        "metrics",
        "utils",
        "params",
        "data",
        "synth",
        "model",
        "serve",
        "report",
    },
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {target for target in imported if target in modules and target != name}
    return graph


def part(module: str) -> str:
    """``tf_crnn.data.formats.csv_rows`` -> ``data``; ``tf_crnn.geometry`` -> ``geometry``."""
    return module.split(".")[1] if module != "tf_crnn" else ""


def test_there_is_no_import_circle():
    graph = import_graph()
    visiting, done, circles = [], set(), []

    def visit(module: str) -> None:
        if module in done:
            return
        if module in visiting:
            circles.append(visiting[visiting.index(module) :] + [module])
            return
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert circles == []


def test_the_library_never_imports_the_command_line():
    graph = import_graph()
    offenders = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        if part(module) != "cli"
        for target in targets
        if part(target) == "cli"
    ]
    assert offenders == []


def test_each_stage_imports_only_the_stages_below_it():
    graph = import_graph()
    offenders = []
    for module, targets in graph.items():
        own = part(module)
        if own in FACADES or own in ("cli", ""):
            continue
        allowed = ALLOWED[own]
        for target in targets:
            target_part, nested = part(target), ".".join(target.split(".")[1:3])
            if target_part in (own, ""):  # its own stage, or the package's version
                continue
            if target_part not in allowed and nested not in allowed:
                offenders.append(f"{module} -> {target}")
    assert offenders == []


def test_every_part_of_the_library_has_rules():
    parts = {part(module) for module in import_graph()} - FACADES - {"cli", ""}
    assert parts == set(ALLOWED)


def test_the_readme_and_the_architecture_page_name_every_part():
    parts = {part(module) for module in import_graph()} - FACADES - {""}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code_tree = readme[readme.index("## The code") :].split("```")[1]
    architecture = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in parts:
        shown = f"{name}.py" if (PACKAGE / f"{name}.py").is_file() else f"{name}/"
        assert shown in code_tree, f"README's code tree lacks {shown}"
        assert f"`{shown}`" in architecture, f"docs/architecture.md lacks {shown}"
