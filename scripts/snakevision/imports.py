"""Which library modules a rule's script imports, so the rule can list them as inputs.

Snakemake reruns a job when its script changes, but not when a module the script imports does;
rules therefore declare those modules as inputs, found here by reading the import statements.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "snakevision"


def _module_file(root: Path, dotted: str) -> Path | None:
    path = root.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(source: Path) -> list[str]:
    """Dotted names an absolute import in source may refer to, modules or not."""
    names = []
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a import b`: b is a submodule or a name defined in a
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def library_modules(script: Path) -> list[Path]:
    """The package's files that script imports, directly or through each other, sorted.

    script lives beside the package folder (scripts/ and scripts/snakevision/). Importing a.b.c
    also runs a/__init__.py and a/b/__init__.py, so those count too.
    """
    root = Path(script).parent
    found: set[Path] = set()
    todo = [Path(script)]
    while todo:
        for name in _imported_names(todo.pop()):
            parts = name.split(".")
            if parts[0] != PACKAGE:
                continue
            for depth in range(1, len(parts) + 1):
                path = _module_file(root, ".".join(parts[:depth]))
                if path and path not in found:
                    found.add(path)
                    todo.append(path)
    return sorted(found)
