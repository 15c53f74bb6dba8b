"""Which library modules a rule's script imports, so the rule can list them as inputs.

Snakemake reruns a job when its script changes, but not when a module the script imports does;
rules therefore declare those modules as inputs, found here by reading the import statements.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "snakevision"
# Fields of a statement that hold statements: imports are statements, so a walk through these
# alone finds every import (in functions, branches, try blocks) at a fraction of ast.walk's cost.
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _module_file(root: Path, dotted: str) -> Path | None:
    path = root.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _statements(body: list[ast.AST]) -> Iterator[ast.AST]:
    """Every statement in body, nested ones included."""
    for node in body:
        yield node
        for field in _BODIES:
            yield from _statements(getattr(node, field, None) or [])


def _imported_names(source: Path) -> list[str]:
    """Dotted names an absolute import in source may refer to, modules or not."""
    stat = source.stat()
    return list(_names_in(source, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=1024)
def _names_in(source: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """_imported_names, parsed once per version of a file: every rule's scan shares the modules.

    mtime_ns and size are part of the key so an edited file is read again.
    """
    text = source.read_text()
    if PACKAGE not in text:  # imports nothing of ours: no need to parse it
        return ()
    names = []
    for node in _statements(ast.parse(text, filename=str(source)).body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a import b`: b is a submodule or a name defined in a
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return tuple(names)


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
