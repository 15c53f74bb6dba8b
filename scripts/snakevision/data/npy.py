"""Reading rows of .npy files with plain reads instead of a memory map."""

from __future__ import annotations

import math
import os
import weakref
from pathlib import Path

import numpy as np


class Rows:
    """A read-only array stored in a .npy file, read from disk only where indexed.

    np.load(mmap_mode="r") would read as little, but a memory map keeps every page the kernel
    reads ahead (megabytes per fault) in the process's resident memory, so a training job's RSS
    grows to the whole data set. Here each row is one pread into the returned array, and resident
    memory holds only what was asked for. Index the first axis with an int, a slice or an array
    of ints, optionally followed by indices of the other axes: rows[[3, 1], ..., 0].
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)  # np.save writes 1.0, 2.0 for huge headers
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            self._offset = f.tell()
        self.shape, self.dtype = tuple(shape), dtype
        self._row_bytes = dtype.itemsize * math.prod(shape[1:])
        expected = self._offset + self._row_bytes * shape[0]
        if (size := self.path.stat().st_size) < expected:
            raise ValueError(
                f"{self.path} is truncated ({size} of {expected} bytes): delete it and rerun "
                "the rule that writes it"
            )
        self._fd = os.open(self.path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def __getitem__(self, key) -> np.ndarray:
        first, *rest = key if isinstance(key, tuple) else (key,)
        if isinstance(first, slice):
            rows = np.arange(*first.indices(len(self)))
        else:
            rows = np.asarray(first)
            if rows.dtype.kind not in "iu" or rows.ndim > 1:
                raise IndexError(f"rows of {self.path.name} take an int, a slice or int arrays")
            if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
                raise IndexError(f"row index out of range for {len(self)} rows")
        picked = self._read(np.atleast_1d(rows) % max(len(self), 1))
        if rows.ndim == 0:
            picked = picked[0]
        return picked[(slice(None),) * rows.ndim + tuple(rest)] if rest else picked

    def _read(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        if not len(rows):
            return out
        flat = memoryview(out.reshape(-1).view(np.uint8))
        # Consecutive rows (validation batches, slices) come in one read each.
        starts = np.flatnonzero(np.diff(rows, prepend=-2) != 1)
        for begin, end in zip(starts, [*starts[1:], len(rows)], strict=True):
            view = flat[begin * self._row_bytes : end * self._row_bytes]
            position = self._offset + int(rows[begin]) * self._row_bytes
            while view:
                got = os.preadv(self._fd, [view], position)
                if not got:
                    raise OSError(f"{self.path} ended early: delete it and rerun its rule")
                view, position = view[got:], position + got
        return out
