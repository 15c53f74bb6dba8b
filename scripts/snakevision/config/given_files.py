"""Cheap checks of the files config names, for the config check: a header or a small file read,
so that a wrong file stops the run before any job instead of failing a job (and deleting its
previous outputs) seconds or minutes in.

Light on purpose: the Snakefile runs these on every snakemake call, a dry run included.
"""

from __future__ import annotations

import json
from pathlib import Path

from snakevision.data.images import looks_like

# Every HDF5 file (Keras' legacy .h5 and its .weights.h5 alike) starts its superblock with
# this signature, at byte 0 or, after a user block, at 512, 1024, 2048... bytes.
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# imagenet_class_index.json: "0".."999" -> [wordnet id, class name].
IMAGENET_CLASSES = 1000
FORM = '{"0": ["n01440764", "tench"], ..., "999": [...]}'


def _looks_like(head: bytes) -> str:
    return looks_like(head) or f"bytes starting {head[:8]!r}"


def hdf5_problem(path: Path) -> str | None:
    """Why path is no HDF5 file (from its signature alone), or None if it is one."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            size = path.stat().st_size
            offset = 0
            while offset + len(HDF5_SIGNATURE) <= size:
                file.seek(offset)
                if file.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                    return None
                offset = 512 if offset == 0 else offset * 2
            file.seek(0)
            head = file.read(512)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not head:
        return "is empty, not an HDF5 weights file"
    return f"is not an HDF5 weights file (it holds {_looks_like(head)})"


def class_index_problem(path: Path) -> str | None:
    """Why path is not an ImageNet class index like Keras' imagenet_class_index.json, or None."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    try:
        index = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        return f"is not JSON ({_looks_like(text[:512])}; {exc})"
    if not isinstance(index, dict):
        return f"holds a JSON {type(index).__name__}, not an object {FORM}"
    wanted = [str(i) for i in range(IMAGENET_CLASSES)]
    if missing := [key for key in wanted if key not in index]:
        shown = ", ".join(repr(k) for k in missing[:3]) + (", ..." if len(missing) > 3 else "")
        return (
            f"has {len(index)} entries, not the {IMAGENET_CLASSES} of ImageNet ({len(missing)} "
            f"missing: {shown}); it must map {FORM}"
        )
    for key in wanted:
        entry = index[key]
        if not (
            isinstance(entry, list) and len(entry) == 2 and all(isinstance(v, str) for v in entry)
        ):
            return f"entry {key!r} is {entry!r}, not [wordnet id, name]; it must map {FORM}"
    return None
