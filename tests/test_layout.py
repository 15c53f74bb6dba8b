"""The library's layout: stage folders in pipeline order, imports that never run back up."""

from __future__ import annotations

import ast

from workflow import REPO

LIBRARY = REPO / "scripts" / "snakevision"
# Lowest first: a module may import its own stage's modules and those of the stages before.
STAGES = [
    "",  # files, labels, figures: what every stage shares
    "job",
    "models",
    "data",
    "evaluation",
    "training",
    "interpretation",
    "predict",
    "report",
    "config",  # checks everything before any job: reads every stage
]


def _stage(module: str) -> str:
    """The stage folder of a dotted module name under snakevision ('' for the top level)."""
    parts = module.split(".")[1:]
    return parts[0] if len(parts) > 1 else ""


def _imports() -> dict[str, set[str]]:
    """Each library module's dotted name -> the library modules it imports."""
    modules = {
        ".".join(path.relative_to(LIBRARY.parent).with_suffix("").parts): path
        for path in LIBRARY.rglob("*.py")
    }
    found = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        found[name.removesuffix(".__init__")] = {d for d in deps if d.startswith("snakevision.")}
    return found


def test_the_top_folder_holds_stage_folders_and_a_few_shared_modules() -> None:
    folders = sorted(p.name for p in LIBRARY.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(s for s in STAGES if s)
    assert sorted(p.name for p in LIBRARY.glob("*.py")) == [
        "__init__.py",
        "figures.py",
        "files.py",
        "labels.py",
    ]


def test_no_import_runs_back_up_a_stage() -> None:
    upward = [
        f"{module} imports {dep}"
        for module, deps in _imports().items()
        for dep in deps
        if STAGES.index(_stage(dep)) > STAGES.index(_stage(module))
    ]
    assert not upward


def test_no_module_imports_itself_through_others() -> None:
    graph = _imports()
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == "open":
                return [*path, module, dep]
            if dep not in state and (cycle := visit(dep, [*path, module])):
                return cycle
        state[module] = "done"
        return None

    cycles = [
        cycle for module in sorted(graph) if module not in state if (cycle := visit(module, []))
    ]
    assert not cycles


def test_no_module_is_over_330_lines() -> None:
    long = {
        str(path.relative_to(REPO)): n
        for path in LIBRARY.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 330
    }
    assert not long
