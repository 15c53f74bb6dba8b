"""A training's identity: the model, settings, data and code that shape it, epochs left out."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras
import numpy as np

# Settings that say how long a training goes on, not what each epoch does: one state serves them.
LENGTH = ("epochs", "patience")


def all_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of a model, those inside nested models included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def checksum(array: Any, chunk: int = 256) -> str:
    """CRC-32 of an array's bytes, read a chunk of rows at a time (arrays on disk included)."""
    crc = 0
    for start in range(0, len(array), chunk):
        crc = zlib.crc32(np.ascontiguousarray(array[start : start + chunk]), crc)
    return f"{crc:08x}"


def architecture(model: keras.Model) -> str:
    """CRC-32 of every layer's class and config (names left out: they count up per process)."""
    layers = [
        [type(layer).__name__, {} if isinstance(layer, keras.Model) else layer.get_config()]
        for layer in all_layers(model)
    ]
    for _, config in layers:
        config.pop("name", None)
    return f"{zlib.crc32(json.dumps(layers, sort_keys=True, default=str).encode()):08x}"


def _shown(path: Path) -> str:
    """A code file's name from its scripts/ folder on (scripts/snakevision/training/trainer.py), so
    that the identity stays when the project moves or runs from another directory."""
    parts = Path(path).parts
    if "scripts" in parts:
        parts = parts[len(parts) - 1 - parts[::-1].index("scripts") :]
    return "/".join(parts)


# The job's plumbing (its log, console lines, threads and GPU) shapes no number a training
# computes: editing it trains nothing afresh.
PLUMBING = "scripts/snakevision/job/"


def code_checksums(paths: Sequence[Path]) -> dict[str, str]:
    """CRC-32 of each code file's content, by its name: edited training code trains afresh."""
    named = {_shown(p): p for p in sorted(map(str, paths))}
    return {
        name: f"{zlib.crc32(Path(path).read_bytes()):08x}"
        for name, path in named.items()
        if not name.startswith(PLUMBING)
    }


def run_identity(
    model: keras.Model,
    settings: Any,
    policy: str,
    parts: int,
    train: tuple[Any, Any],
    val: tuple[Any, Any],
    code: Sequence[Path] = (),
) -> dict:
    """What a state must share with a training to resume or serve it: all but its length."""
    arrays = dict(zip(("train_images", "train_labels", "val_images", "val_labels"), (*train, *val)))
    identity = {
        "model": model.name,
        "parameters": model.count_params(),
        "architecture": architecture(model),
        "input_shape": model.input_shape,
        "settings": {k: v for k, v in asdict(settings).items() if k not in LENGTH},
        "policy": policy,
        "micro_batches": parts,
        "backend": keras.backend.backend(),
        "data": {name: [len(a), checksum(a)] for name, a in arrays.items()},
        "code": code_checksums(code),
    }
    return json.loads(json.dumps(identity))  # as it reads back from run.json
