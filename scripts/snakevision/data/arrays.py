"""Build the uint8 training arrays in parallel, written incrementally to .npy files."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from snakevision.data.images import DecodeError, load_image, load_mask
from snakevision.data.workers import process_pool
from snakevision.files import atomic
from snakevision.job.console import Progress

log = logging.getLogger(__name__)

CHUNK = 32  # rows one worker decodes before writing them; bounds memory per worker


def _fill(job: tuple[str, str, int, list[str], int]) -> int:
    """Decode a chunk of files into rows start.. of an existing .npy file."""
    kind, target, start, paths, size = job
    load: Callable[[Path, int], np.ndarray] = load_image if kind == "image" else load_mask
    out = open_memmap(target, mode="r+")
    for offset, path in enumerate(paths):
        try:
            out[start + offset] = load(Path(path), size)
        except DecodeError as exc:
            raise DecodeError(f"{path}: {exc}") from exc  # say which file
    del out
    return len(paths)


def write_stack(paths: Sequence[str], target: Path, kind: str, size: int, workers: int = 1) -> None:
    """Decode files into one (N, size, size, C) uint8 .npy at target, atomically.

    kind is 'image' (RGB, antialiased resize) or 'mask' (trimap labels 0..2, nearest).
    """
    channels = 3 if kind == "image" else 1
    with atomic(Path(target)) as tmp:
        shape = (len(paths), size, size, channels)
        header = open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        del header  # workers open the file themselves
        # The file is sparse: reserve its blocks now, so a full disk fails here with ENOSPC
        # instead of killing a worker with SIGBUS halfway through.
        with open(tmp, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, tmp.stat().st_size)
        jobs = [
            (kind, str(tmp), i, list(paths[i : i + CHUNK]), size)
            for i in range(0, len(paths), CHUNK)
        ]
        done = 0
        progress = Progress(Path(target).name, len(paths), f"{kind}s")
        with process_pool(workers) as pool:
            for n in pool.map(_fill, jobs):
                done += n
                progress.advance(n)
                if done % 1024 < CHUNK or done == len(paths):
                    log.info("%s: %d/%d %ss", Path(target).name, done, len(paths), kind)


def write_labels(labels: Sequence[int], target: Path) -> None:
    """Save a uint8 label vector atomically."""
    with atomic(Path(target)) as tmp:
        np.save(tmp, np.asarray(labels, dtype=np.uint8))
