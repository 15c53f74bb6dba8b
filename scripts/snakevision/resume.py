"""A training run's resume state: its epoch log, checkpoints and identity, in a state folder.

The folder is not a declared output, so Snakemake keeps it when a job is killed, and the rerun
continues from the last finished epoch if it is the same run (claim_state). A finished run
keeps it too, pruned to what resuming needs: raising `epochs` then trains only the new ones.

Each epoch's files are written in an order a kill at any point cannot break: its history row
and log line first, then its checkpoints, and only then the line in the job's log. A line in
the log therefore always names an epoch that a rerun keeps.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
import pandas as pd

from snakevision.files import atomic

log = logging.getLogger(__name__)

# Checkpoints' files, named by epoch (best-0003.keras), and the group it adds to Keras's
# weights file for the random layers' seed states.
BEST, RESUME = "best-*.keras", "epoch-*.weights.h5"
SEED_STATES = "snakevision_seed_states"
# The rest of a state folder: the history rows, the epochs' log lines (replayed into the log
# of a resumed job, whose log file Snakemake deletes before it runs the job again), the run's
# identity, and the mark of a run that wrote its outputs.
HISTORY, LINES, IDENTITY, COMPLETED = "history.csv", "epochs.log", "run.json", "completed.json"


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


def state_dir(model_path: Path) -> Path:
    """The undeclared folder holding a run's resume state, beside its model."""
    return Path(model_path).parent / ".train_state"


class EpochLog(keras.callbacks.Callback):
    """One history row and log line per epoch, kept in the run's state folder so a resumed run
    continues them; with checkpoints, it saves them between the row and the line.

    The order is the callback's own, not the callbacks list's: row and line are written first,
    so a resume state always has its epochs' rows; the line reaches the log only once the
    checkpoints are on disk, so a rerun never trains again an epoch the log showed.
    """

    def __init__(
        self,
        path: Path,
        num_images: int,
        policy: str,
        micro_batches: int = 1,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        super().__init__()
        self.path, self.num_images, self.policy = Path(path), num_images, policy
        self.micro_batches, self.checkpoints = micro_batches, checkpoints
        self.lines_path = self.path.with_name(LINES)
        self.rows = pd.read_csv(self.path).to_dict("records") if self.path.exists() else []
        self.lines = self.lines_path.read_text().splitlines() if self.lines_path.exists() else []
        self._first = True

    def set_model(self, model: keras.Model) -> None:
        super().set_model(model)
        if self.checkpoints is not None:
            self.checkpoints.set_model(model)

    def _keep(self, epochs: int) -> None:
        """Forget the rows and lines past the first epochs: the resume state never had them."""
        self.rows = [r for r in self.rows if r["epoch"] <= epochs]
        self.lines = [line for line in self.lines if _epoch_of_line(line) <= epochs]

    def begin(self, start: int, epochs: int, why: str = "") -> None:
        """Log where training starts: after the start epochs done, replayed as logged, or at 1."""
        self._keep(start)
        if not start:
            # A discarded state is worth a warning: the work it held is lost.
            level = logging.WARNING if why.startswith(AFRESH) else logging.INFO
            why = why or f"the state in {self.path.parent} has no finished epoch"
            log.log(level, "nothing to resume: starting at epoch 1 (%s)", why)
            return
        if start < epochs:
            log.info(
                "resuming from epoch %d of %d (state in %s); the epochs before, as logged then:",
                start + 1,
                epochs,
                self.path.parent,
            )
        else:
            log.info(
                "all %d epochs were done before (state in %s), as logged then:",
                epochs,
                self.path.parent,
            )
        for line in self.lines:
            logged, message = line.split("\t", 1)
            log.info("%s (logged %s, before the resume)", message, logged)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self._first:
            # The first epoch run is where training resumes: rows past it were never backed up.
            self._keep(epoch)
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
        shown = ", ".join(
            f"{k} {v:.4f}"
            for k, v in row.items()
            if isinstance(v, float) and k not in ("seconds", "images_per_s")
        )
        message = (
            f"epoch {epoch + 1}/{self.params['epochs']}: {shown}, {row['seconds']:.1f} s, "
            f"{row['images_per_s']:.1f} images/s"
        )
        self.rows.append(row)
        self.lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')}\t{message}")
        with durable(self.path) as tmp:
            pd.DataFrame(self.rows).to_csv(tmp, index=False)
        with durable(self.lines_path) as tmp:
            tmp.write_text("".join(f"{line}\n" for line in self.lines))
        if self.checkpoints is not None:
            self.checkpoints.on_epoch_end(epoch, logs)
        log.info("%s", message)

    def best_val_loss(self, epochs: int) -> float | None:
        """The lowest val_loss of the first epochs, None if none was recorded."""
        losses = [r.get("val_loss", math.nan) for r in self.rows if r["epoch"] <= epochs]
        finite = [loss for loss in losses if math.isfinite(loss)]
        return min(finite) if finite else None


def _epoch_of_line(line: str) -> int:
    """The epoch a stored log line is about ("<time>\tepoch 3/6: ..."); 0 for no such line."""
    found = re.search(r"\tepoch (\d+)/", line)
    return int(found.group(1)) if found else 0


class Checkpoints(keras.callbacks.Callback):
    """After each epoch: the best model so far (lowest val_loss) and the state to resume from.

    Both are written atomically, where Keras's ModelCheckpoint and BackupAndRestore write in
    place: a job killed while they write (a time limit, a power cut) leaves a half file that
    the rerun cannot load. The resume state is the weights, the optimizer's variables and the
    seed states of the random layers (augmentation, dropout), which Keras leaves out of
    weights: with them a resumed run trains as an uninterrupted one would. Both files are named
    by their epoch, and the ones they replace go only once both are written: a rerun drops a
    best model newer than its resume state, which came from an epoch it trains again. Written
    durably (fsync), as the log line that follows them promises they are kept.
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
            with durable(self.folder / BEST.replace("*", f"{epoch + 1:04d}")) as tmp:
                self.model.save(tmp)
        save = self.folder / RESUME.replace("*", f"{epoch + 1:04d}")
        with durable(save) as tmp:
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


# The start of every reason claim_state gives for discarding a state folder.
AFRESH = "starting afresh: "


def claim_state(state_dir: Path, identity: dict, epochs: int) -> str:
    """Keep state_dir for resuming only if it was left by the same run; record this run there.

    Snakemake reruns training when its parameters, code or inputs change; resuming the state of
    the old run then would silently mix two experiments. Only epochs may differ: a finished run
    trains on to more of them. Fewer epochs than the state has done start afresh (the weights
    of the earlier epoch are gone), and so does the rerun of a finished run with its own
    epochs (a forced rerun, or code that changed). Returns why nothing is resumed ("" if the
    state is kept; the reason starts with AFRESH where a state was discarded).
    """
    state_dir, why = Path(state_dir), ""
    if not state_dir.exists():
        why = f"no resume state in {state_dir}"
    elif reason := _unusable(state_dir, identity, epochs):
        why = f"{AFRESH}the resume state in {state_dir} {reason}"
        shutil.rmtree(state_dir)
    elif (done := _completed(state_dir)) is not None:
        log.info("training on from the finished run of %d epochs in %s", done, state_dir)
        (state_dir / COMPLETED).unlink()
    state_dir.mkdir(parents=True, exist_ok=True)
    with durable(state_dir / IDENTITY) as tmp:
        tmp.write_text(json.dumps(identity, indent=2) + "\n")
    return why


def _unusable(state_dir: Path, identity: dict, epochs: int) -> str:
    """Why a state folder cannot be resumed by this run, "" if it can."""
    try:
        old = json.loads((state_dir / IDENTITY).read_text())
    except FileNotFoundError:
        old = {}
    except (OSError, ValueError) as exc:
        return f"has an unreadable {IDENTITY} ({exc})"
    changed = [key for key in identity if old.get(key) != identity[key]]
    finished = Checkpoints(state_dir).finished()
    if finished > epochs:
        changed.append(f"epochs ({finished} finished, {epochs} asked for)")
    if changed:
        return f"is from a run with other {', '.join(changed)}"
    if _completed(state_dir) == epochs:
        return (
            f"is of a finished run of the {epochs} epochs asked for: its rerun (forced, or for "
            "changed code) trains again; more epochs would train on from it"
        )
    return ""


def _completed(state_dir: Path) -> int | None:
    """The epochs of the finished run that left state_dir, None if it did not finish."""
    try:
        return int(json.loads((state_dir / COMPLETED).read_text())["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def complete(state_dir: Path, epochs: int) -> None:
    """Mark state_dir as a finished run's, pruned to what training on from it needs."""
    for leftover in Path(state_dir).glob(".tmp-*"):  # writes a killed job left half done
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    with durable(Path(state_dir) / COMPLETED) as tmp:
        tmp.write_text(json.dumps({"epochs": epochs}) + "\n")


def discard(state_dir: Path, identity: dict, epochs: int, reason: str) -> str:
    """Remove a state folder this run cannot use, claim a fresh one; why nothing is resumed."""
    shutil.rmtree(state_dir, ignore_errors=True)
    claim_state(state_dir, identity, epochs)
    return f"{AFRESH}the resume state in {state_dir} {reason}"
