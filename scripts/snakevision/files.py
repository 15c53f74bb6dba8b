"""Atomic writes: a failed or interrupted write never leaves a half file under the final name."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

# Out of space, over quota, over a file size limit (ulimit -f).
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
MAKE_ROOM = "make room, or move the project to a larger disk, then rerun"


def no_room(exc: OSError, target: Path) -> OSError | None:
    """For a write that found no room: the error saying where, how much is free, what to do."""
    if exc.errno not in NO_ROOM:
        return None
    free = shutil.disk_usage(Path(target).parent).free / 2**20
    return OSError(
        exc.errno,
        f"{exc.strerror} while writing {target} ({free:,.1f} MB free there); {MAKE_ROOM}",
    )


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic(target: Path, folder: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside target (same name ending), or an empty folder with folder;
    on success it replaces target, a folder whole."""
    target = Path(target)
    tmp = target.with_name(f".tmp-{target.name}")  # Keras wants .keras, .weights.h5 endings
    _remove(tmp)  # a killed job's leftover
    (tmp if folder else target.parent).mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        if folder and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError as exc:
        if clearer := no_room(exc, target):
            raise clearer from exc
        raise
    finally:
        _remove(tmp)


def link(source: Path, target: Path) -> None:
    """Hard-link source at target, replacing it at once (a temporary link, then a rename).

    Raises OSError where the file system has no hard links.
    """
    partial = target.with_name(target.name + ".linking")
    partial.unlink(missing_ok=True)
    os.link(source, partial)
    os.replace(partial, target)


def write_csv(frame: pd.DataFrame, target: Path) -> None:
    """Write a table without its index, atomically."""
    with atomic(target) as tmp:
        frame.to_csv(tmp, index=False)


def write_json(data: Any, target: Path) -> None:
    """Write indented JSON, atomically."""
    with atomic(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def read_csv(path: Path) -> pd.DataFrame:
    """Read a table the workflow wrote, empty strings kept as strings."""
    return pd.read_csv(path, keep_default_na=False)


def read_history(path: Path) -> pd.DataFrame:
    """Read a training history: numbers, NaN where an epoch diverged (written as empty)."""
    return pd.read_csv(path)
