"""Training states, one folder per setting under a run's .train_state/: layout, claims, listing.

A run's folder (results/{task}/{run}/seed_{seed}) holds .train_state/<key>/ for each setting
it was ever trained with, key a short hash of everything that shapes the training but epochs
and patience (training.identity). No setting ever touches another's folder: switching back
resumes or serves the old one. Nothing here needs Keras, so that the listing runs quickly:
`PYTHONPATH=scripts python -m snakevision.training.states [--prune] [folder ...]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from snakevision.files import atomic

log = logging.getLogger(__name__)

ROOT = ".train_state"
# A state folder's checkpoints, named by epoch: every best model so far (best-0003.keras) and
# the latest resume point (epoch-0003.weights.h5); its history rows, its epochs' log lines
# (replayed into the log of a later job) and its identity.
BEST, RESUME = "best-*.keras", "epoch-*.weights.h5"
HISTORY, LINES, IDENTITY = "history.csv", "epochs.log", "run.json"
# In the root: the key of the state the run's current outputs were written from.
CURRENT = "current.json"
# The start of every reason for discarding an unusable state folder.
AFRESH = "starting afresh: "


@contextmanager
def durable(target: Path) -> Iterator[Path]:
    """atomic(target), its data and its name on the disk before the block's caller goes on.

    A rename alone survives a killed process; fsync makes it survive a power cut too, which
    would otherwise lose a checkpoint whose epoch the log already showed.
    """
    with atomic(target) as tmp:
        yield tmp
        _fsync(tmp)
    # The rename; some file systems cannot sync a folder, where the data is synced all the same.
    with suppress(OSError):
        _fsync(Path(target).parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def state_root(model_path: Path) -> Path:
    """The undeclared folder holding a run's state folders, beside its model."""
    return Path(model_path).parent / ROOT


def key(identity: dict) -> str:
    """The state folder's name: 12 hex digits of the identity's SHA-256."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def epoch_of(save: Path) -> int:
    """The epoch in a checkpoint's name (best-0003.keras, epoch-0003.weights.h5)."""
    return int(save.name.split(".")[0].split("-")[1])


def saves(folder: Path, pattern: str) -> list[Path]:
    """A folder's checkpoints of one kind, by epoch (zero-padded names sort by epoch)."""
    return sorted(Path(folder).glob(pattern))


def finished(folder: Path) -> int:
    """The epochs a state folder's latest resume point had finished (0 if there is none)."""
    found = saves(folder, RESUME)
    return epoch_of(found[-1]) if found else 0


def claim(root: Path, identity: dict) -> tuple[Path, str]:
    """This identity's state folder under root, made if new; why nothing there can be resumed.

    The reason is "" where the folder may hold finished epochs; it starts with AFRESH where a
    folder of this identity could not be read and was emptied (other folders stay untouched).
    """
    root = Path(root)
    folder = root / key(identity)
    ours = (CURRENT, f".tmp-{CURRENT}")
    if old_layout := sorted(p.name for p in root.glob("*") if p.is_file() and p.name not in ours):
        log.info(
            "files of an older layout in %s are not used (%s): delete them to free the space",
            root,
            ", ".join(old_layout),
        )
    if not folder.exists():
        why = f"no state for these settings in {root} yet: a new one in {folder.name}"
        why += _others(root, folder, identity)
        _make(folder, identity)
        return folder, why
    try:
        kept = json.loads((folder / IDENTITY).read_text())
    except FileNotFoundError:  # killed before it was written: the folder is named by it
        _make(folder, identity)
        return folder, ""
    except (OSError, ValueError) as exc:
        return folder, discard(folder, identity, f"has an unreadable {IDENTITY} ({exc})")
    if kept != identity:  # a hash collision, or an edit by hand
        changed = ", ".join(differences(kept, identity))
        return folder, discard(folder, identity, f"has a {IDENTITY} of other {changed}")
    return folder, ""


def _make(folder: Path, identity: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with durable(folder / IDENTITY) as tmp:
        tmp.write_text(json.dumps(identity, indent=2) + "\n")


def discard(folder: Path, identity: dict, reason: str) -> str:
    """Empty a state folder that cannot be used, claim it afresh; why nothing is resumed."""
    shutil.rmtree(folder, ignore_errors=True)
    _make(folder, identity)
    return f"{AFRESH}the state in {folder} {reason}"


def _others(root: Path, folder: Path, identity: dict) -> str:
    """A note on the other states beside a new one: they stay, and how the latest differs."""
    others = [s for s in summaries(root) if s.folder != folder]
    if not others:
        return ""
    latest = max(others, key=lambda s: s.modified)
    try:
        changed = ", ".join(
            differences(json.loads((latest.folder / IDENTITY).read_text()), identity)
        )
    except (OSError, ValueError):
        changed = "an unreadable identity"
    return (
        f"; the {len(others)} other state(s) there stay (the latest, {latest.folder.name}, "
        f"differs in {changed})"
    )


def differences(old: dict, new: dict) -> list[str]:
    """The keys two identities differ in, one level into their sections (settings.seed)."""
    changed = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if isinstance(a, dict) and isinstance(b, dict):
            changed += [f"{name}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            changed.append(name)
    return changed or ["nothing"]


def finish(root: Path, folder: Path, epoch: int) -> None:
    """Record the state behind the run's outputs; drop writes a killed job left half done."""
    for leftover in Path(folder).glob(".tmp-*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    with durable(Path(root) / CURRENT) as tmp:
        tmp.write_text(json.dumps({"state": Path(folder).name, "epochs": epoch}) + "\n")


@dataclass(frozen=True)
class Summary:
    """One state folder as the listing shows it."""

    folder: Path
    epochs: int  # finished
    best: int  # best-so-far checkpoints kept
    size: int  # bytes
    modified: float  # the newest file's time
    current: bool  # the run's outputs were written from it


def summaries(root: Path) -> list[Summary]:
    """The state folders of one run's root (.train_state), by name."""
    current, found = _current(root), []
    for folder in sorted(p for p in Path(root).glob("*") if p.is_dir()):
        files = [f for f in folder.rglob("*") if f.is_file()]
        found.append(
            Summary(
                folder,
                finished(folder),
                len(saves(folder, BEST)),
                sum(f.stat().st_size for f in files),
                max((f.stat().st_mtime for f in files), default=0.0),
                folder.name == current,
            )
        )
    return found


def listing(folders: Sequence[Path]) -> list[Summary]:
    """Every state folder under the given folders (results/, runs, or their .train_state)."""
    roots = []
    for top in map(Path, folders):
        roots += [top] if top.name == ROOT else sorted(top.rglob(ROOT))
    return [state for root in roots for state in summaries(root)]


def _current(root: Path) -> str | None:
    try:
        return json.loads((root / CURRENT).read_text())["state"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """List the training states under folders; with --prune, delete those not in use."""
    parser = argparse.ArgumentParser(
        prog="python -m snakevision.training.states", description=main.__doc__
    )
    parser.add_argument("folders", nargs="*", default=["results"], type=Path)
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete every state but the ones the runs' current outputs were written from",
    )
    args = parser.parse_args(argv)
    total = freed = 0
    for state in listing(args.folders):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.modified))
        use = "in use" if state.current else "not in use"
        gone = args.prune and not state.current
        if gone:
            shutil.rmtree(state.folder)
            freed += state.size
        print(
            f"{state.folder}  {state.epochs} epochs, {state.best} best checkpoint(s), "
            f"{state.size / 2**20:.1f} MB, {when}, {use}{', deleted' if gone else ''}"
        )
        total += state.size
    print(f"{total / 2**20:.1f} MB in all" + (f", {freed / 2**20:.1f} MB freed" if freed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
