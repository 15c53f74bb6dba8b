"""A training run's resume state: its epoch log, checkpoints and identity, in a state folder.

The folder is not a declared output, so Snakemake keeps it when a job is killed, and the rerun
continues from the last finished epoch if it is the same run (claim_state).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
import pandas as pd

from snakevision.files import atomic, write_csv, write_json

log = logging.getLogger(__name__)

# Checkpoints' files, named by epoch (best-0003.keras), and the group it adds to Keras's
# weights file for the random layers' seed states.
BEST, RESUME = "best-*.keras", "epoch-*.weights.h5"
SEED_STATES = "snakevision_seed_states"


def state_dir(model_path: Path) -> Path:
    """The undeclared folder holding a run's resume state, beside its model."""
    return Path(model_path).parent / ".train_state"


class EpochLog(keras.callbacks.Callback):
    """One history row per epoch, kept in the run's state folder so a resumed run continues it."""

    def __init__(self, path: Path, num_images: int, policy: str, micro_batches: int = 1) -> None:
        super().__init__()
        self.path, self.num_images, self.policy = Path(path), num_images, policy
        self.micro_batches = micro_batches
        self.rows = pd.read_csv(self.path).to_dict("records") if self.path.exists() else []
        self._first = True

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self._first:
            # The first epoch run is where training resumes: rows past it were never backed up.
            self.rows = [r for r in self.rows if r["epoch"] <= epoch]
            if epoch:
                log.info(
                    "resuming from epoch %d of %d (state in %s)",
                    epoch + 1,
                    self.params["epochs"],
                    self.path.parent,
                )
            self._first = False
        self.start = self.train_end = time.perf_counter()

    def on_test_begin(self, logs=None) -> None:
        # On JAX the host queues steps ahead of the device: reading the step counter waits for
        # the last one, so that the epoch's training time ends where its validation begins.
        keras.ops.convert_to_numpy(self.model.optimizer.iterations)
        self.train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        end = time.perf_counter()
        train_seconds = (self.train_end if self.train_end > self.start else end) - self.start
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row.update(
            seconds=round(end - self.start, 3),
            images_per_s=round(self.num_images / train_seconds, 2),
            precision=self.policy,
            micro_batches=self.micro_batches,
        )
        self.rows.append(row)
        write_csv(pd.DataFrame(self.rows), self.path)
        shown = ", ".join(
            f"{k} {v:.4f}"
            for k, v in row.items()
            if isinstance(v, float) and k not in ("seconds", "images_per_s")
        )
        log.info(
            "epoch %d/%d: %s, %.1f s, %.1f images/s",
            epoch + 1,
            self.params["epochs"],
            shown,
            row["seconds"],
            row["images_per_s"],
        )

    def best_val_loss(self, epochs: int) -> float | None:
        """The lowest val_loss of the first epochs, None if none was recorded."""
        losses = [r.get("val_loss", math.nan) for r in self.rows if r["epoch"] <= epochs]
        finite = [loss for loss in losses if math.isfinite(loss)]
        return min(finite) if finite else None


class Checkpoints(keras.callbacks.Callback):
    """After each epoch: the best model so far (lowest val_loss) and the state to resume from.

    Both are written atomically, where Keras's ModelCheckpoint and BackupAndRestore write in
    place: a job killed while they write (a time limit, a power cut) leaves a half file that
    the rerun cannot load. The resume state is the weights, the optimizer's variables and the
    seed states of the random layers (augmentation, dropout), which Keras leaves out of
    weights: with them a resumed run trains as an uninterrupted one would. Both files are named
    by their epoch, and the ones they replace go only once both are written: a rerun drops a
    best model newer than its resume state, which came from an epoch it trains again.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder, self.best_val_loss = Path(folder), None

    def _saves(self, pattern: str) -> list[Path]:
        return sorted(self.folder.glob(pattern))  # epochs are zero-padded: sorted by epoch

    @property
    def best(self) -> Path | None:
        """The best model saved so far, if any epoch reached a finite val_loss."""
        saves = self._saves(BEST)
        return saves[-1] if saves else None

    def finished(self) -> int:
        """The epochs the latest resume state had finished (0 if there is none)."""
        saves = self._saves(RESUME)
        return _epoch_of(saves[-1]) if saves else 0

    def restore(self, model: keras.Model) -> int:
        """Load the latest resume state into a compiled model; the epochs it had finished."""
        finished = self.finished()
        for best in self._saves(BEST):
            if _epoch_of(best) > finished:
                best.unlink()
        if not finished:
            return 0
        latest = self._saves(RESUME)[-1]
        model.optimizer.build(model.trainable_variables)
        model.load_weights(latest)
        with h5py.File(latest, "r") as saved:
            for i, state in enumerate(_seed_states(model)):
                state.assign(saved[f"{SEED_STATES}/{i}"][()])
        return finished

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        val_loss = (logs or {}).get("val_loss", math.nan)
        # A diverged epoch (NaN) is never the best, as with Keras's ModelCheckpoint.
        if math.isfinite(val_loss) and (
            self.best_val_loss is None or val_loss < self.best_val_loss
        ):
            self.best_val_loss = val_loss
            with atomic(self.folder / BEST.replace("*", f"{epoch + 1:04d}")) as tmp:
                self.model.save(tmp)
        save = self.folder / RESUME.replace("*", f"{epoch + 1:04d}")
        with atomic(save) as tmp:
            self.model.save_weights(tmp)
            with h5py.File(tmp, "a") as saved:
                for i, state in enumerate(_seed_states(self.model)):
                    saved[f"{SEED_STATES}/{i}"] = keras.ops.convert_to_numpy(state)
        for old in self._saves(RESUME)[:-1] + self._saves(BEST)[:-1]:
            old.unlink()


def _epoch_of(save: Path) -> int:
    """The epoch in a checkpoint's name (best-0003.keras, epoch-0003.weights.h5)."""
    return int(save.name.split(".")[0].split("-")[1])


def _seed_states(model: keras.Model) -> list:
    """The random layers' seed states: what model.variables holds beyond model.weights."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


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


def run_identity(
    model: keras.Model,
    settings: Any,
    policy: str,
    parts: int,
    train: tuple[Any, Any],
    val: tuple[Any, Any],
) -> dict:
    """What a resumed run must share with the interrupted one: everything but the epochs."""
    arrays = dict(zip(("train_images", "train_labels", "val_images", "val_labels"), (*train, *val)))
    identity = {
        "model": model.name,
        "parameters": model.count_params(),
        "architecture": architecture(model),
        "input_shape": model.input_shape,
        "settings": {k: v for k, v in asdict(settings).items() if k != "epochs"},
        "policy": policy,
        "micro_batches": parts,
        "backend": keras.backend.backend(),
        "data": {name: [len(a), checksum(a)] for name, a in arrays.items()},
    }
    return json.loads(json.dumps(identity))  # as it reads back from run.json


def claim_state(state_dir: Path, identity: dict, epochs: int) -> None:
    """Keep state_dir for resuming only if it was left by the same run; record this run there.

    Snakemake reruns training when its parameters, code or inputs change; resuming the state of
    the old run then would silently mix two experiments. Only epochs may differ, as long as
    the state has not finished more of them than are now asked for.
    """
    record = state_dir / "run.json"
    if state_dir.exists():
        old = json.loads(record.read_text()) if record.exists() else {}
        changed = [key for key in identity if old.get(key) != identity[key]]
        finished = Checkpoints(state_dir).finished()
        if finished > epochs:
            changed.append(f"epochs ({finished} finished, {epochs} asked for)")
        if changed:
            log.warning(
                "starting afresh: the resume state in %s is from a run with other %s",
                state_dir,
                ", ".join(changed),
            )
            shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    write_json(identity, record)
