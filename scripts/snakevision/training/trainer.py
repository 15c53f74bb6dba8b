"""Training shared by every model: precision policy, micro-batches, a resumable fit."""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from snakevision.data.batches import Batches
from snakevision.files import atomic, write_csv
from snakevision.training import batch_sizes, hardware, precision, states, stopping
from snakevision.training.checkpoints import Checkpoints
from snakevision.training.epoch_log import EpochLog
from snakevision.training.identity import all_layers, run_identity
from snakevision.training.iou import mean_iou
from snakevision.training.states import HISTORY

log = logging.getLogger(__name__)

OPTIMIZERS = {
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "sgd": keras.optimizers.SGD,
}


@dataclass(frozen=True)
class Settings:
    """Hyperparameters of one training run (the rule's `params`)."""

    epochs: int
    batch_size: int
    optimizer: str = "rmsprop"
    learning_rate: float = 1e-3
    seed: int = 1337
    precision: str = "auto"
    steps_per_execution: int = 1
    micro_batches: int | str = 1
    patience: int | None = None  # epochs without a lower val_loss before stopping; None: never

    @classmethod
    def from_params(cls, params: Any) -> Settings:
        """Settings from a mapping, ignoring keys that are not hyperparameters of training."""
        values = dict(params)
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


@dataclass(frozen=True)
class Objective:
    """What a task trains towards in Keras: the loss, the metrics, the console's metric, labels.

    Apart from the task record (models.tasks), which the reports read: an edit there must
    retrain nothing.
    """

    loss: Any
    metrics: Callable[[int], list]  # built for a model of that many outputs
    console: tuple[str, str]  # the history column the console shows each epoch, and its name
    label_dtype: str | None = None


OBJECTIVES = {
    "segmentation": Objective(
        loss="sparse_categorical_crossentropy",
        metrics=lambda classes: [
            keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
            mean_iou(classes),
        ],
        console=("val_mean_iou", "val mean IoU"),
    ),
    "classification": Objective(
        loss="binary_crossentropy",
        metrics=lambda classes: [keras.metrics.BinaryAccuracy(name="accuracy")],
        console=("val_accuracy", "val accuracy"),
        label_dtype="float32",
    ),
}


def fit(
    build: Callable[[], keras.Model],
    task: Objective,
    settings: Settings,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    model_path: Path,
    history_path: Path,
    state_dir: Path,
    tensorboard_dir: Path | None = None,
    code: Sequence[Path] = (),
) -> pd.DataFrame:
    """Train with the best val_loss model kept, resumable, then write outputs; or serve them.

    train and val are (images, labels) arrays, in memory or on disk (npy.Rows). state_dir holds
    one state folder per identity (training.states): the model, settings, data and the code
    files given, everything but epochs and patience. Its folder's finished epochs are kept:
    a request that ends within them (at `epochs`, or where patience stops it) is served from
    them with nothing trained; a longer one trains on from the last. tensorboard_dir, if
    given, receives TensorBoard event files under the state folder's name (<key>/train,
    <key>/validation), continued by a resumed run and emptied by a fresh one.
    """
    warn_if_slow_backend()
    root = Path(state_dir)
    policy = precision.choose(settings.precision)
    keras.mixed_precision.set_global_policy(policy)
    model, parts = compiled(build, task, settings, policy)
    identity = run_identity(model, settings, policy, parts, train, val, code)
    folder, why = states.claim(root, identity)
    log.info(
        "training %s (%d parameters) on %d images, validating on %d; %s; backend %s, policy %s, "
        "%d micro-batch(es) per batch; state in %s",
        model.name,
        model.count_params(),
        len(train[0]),
        len(val[0]),
        settings,
        keras.backend.backend(),
        policy,
        parts,
        folder,
    )
    shown = (len(train[0]), policy, parts, task.console)  # what the epoch log records
    try:
        history, served, start = _open(folder, model, settings, *shown)
    except (OSError, KeyError, ValueError) as exc:  # a file h5py, pandas or Keras cannot read
        why = states.discard(folder, identity, f"cannot be loaded ({exc})")
        model, parts = compiled(build, task, settings, policy)  # a load may have begun
        history, served, start = _open(folder, model, settings, *shown)
    if served:
        rows = history.serve(served, settings.epochs)
        return _outputs(history.checkpoints, rows, served, model_path, history_path, root)
    history.begin(start, settings.epochs, why)
    checkpoints = history.checkpoints
    if start and checkpoints.best:
        checkpoints.best_val_loss = history.best_val_loss(start)
    # The epoch's row, checkpoints and log line, in EpochLog's order (training.epoch_log).
    callbacks: list[keras.callbacks.Callback] = [history]
    if tensorboard_dir is not None:
        board = Path(tensorboard_dir) / folder.name
        if not start:  # this state's curves from a start now discarded
            for kind in ("train", "validation"):
                shutil.rmtree(board / kind, ignore_errors=True)
        # After the checkpoints: an epoch in the events is one a rerun keeps, never one it
        # trains again and writes twice.
        callbacks.append(TensorBoard(board))
    # Two reader threads keep the next batches ready while the device computes.
    batches = dict(label_dtype=task.label_dtype, workers=2)
    model.fit(
        initial_epoch=start,
        # Batches shuffles rows by (seed, epoch). Keras would also shuffle the order of the
        # batches with Python's global random state, which a resumed run does not restore,
        # and which would scatter the parts of a batch over several accumulated updates.
        shuffle=False,
        x=Batches(
            *train,
            settings.batch_size,
            shuffle=True,
            seed=settings.seed,
            epoch=start,
            micro_batches=parts,
            **batches,
        ),
        # Validation needs no gradients: micro-batch sized batches keep memory as low.
        validation_data=Batches(*val, math.ceil(settings.batch_size / parts), **batches),
        epochs=settings.epochs,
        callbacks=callbacks,
        verbose=0,
    )
    end = history.rows[-1]["epoch"]  # settings.epochs, or where patience stopped it
    return _outputs(checkpoints, history.rows, end, model_path, history_path, root)


def _open(
    folder: Path,
    model: keras.Model,
    settings: Settings,
    images: int,
    policy: str,
    parts: int,
    console: tuple[str, str],
) -> tuple[EpochLog, int | None, int]:
    """A state folder's epoch log; the epoch it serves the request with, else the epochs loaded.

    Raises what a damaged file raises (OSError, KeyError, ValueError).
    """
    checkpoints = Checkpoints(folder)
    history = EpochLog(
        folder / HISTORY,
        images,
        policy,
        parts,
        checkpoints,
        console=console,
        patience=settings.patience,
    )
    done = checkpoints.finished()
    served = stopping.served_epoch(
        history.val_losses(done), done, settings.epochs, settings.patience
    )
    if served:
        checkpoints.verify(served)
        return history, served, done
    return history, None, checkpoints.restore(model)


def _outputs(
    checkpoints: Checkpoints,
    rows: list[dict],
    epoch: int,
    model_path: Path,
    history_path: Path,
    root: Path,
) -> pd.DataFrame:
    """Write the run's outputs from a state: the best model of the first epochs, their rows."""
    best = checkpoints.best_until(epoch)
    if best is None:
        raise RuntimeError(
            f"no epoch of {epoch} reached a finite val_loss (history in {checkpoints.folder}): "
            "training diverged; lower the learning rate or use float32"
        )
    with atomic(Path(model_path)) as tmp:
        shutil.copyfile(best, tmp)
    table = pd.DataFrame([r for r in rows if r["epoch"] <= epoch])
    write_csv(table, history_path)
    states.finish(root, checkpoints.folder, epoch)
    return table


def has_batch_norm(model: keras.Model) -> bool:
    """Whether any layer of the model, nested ones included, is a batch normalization."""
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in all_layers(model))


def compiled(
    build: Callable[[], keras.Model], task: Objective, settings: Settings, policy: str
) -> tuple[keras.Model, int]:
    """The model built from the run's seed and compiled; its micro-batches per batch."""
    keras.utils.set_random_seed(settings.seed)
    model = build()
    parts = batch_sizes.micro_batches(
        settings.micro_batches,
        settings.batch_size,
        has_batch_norm(model),
        policy,
        hardware.has_accelerator(),
        model.input_shape[1],
    )
    optimizer = OPTIMIZERS[settings.optimizer](
        learning_rate=settings.learning_rate,
        gradient_accumulation_steps=parts if parts > 1 else None,
    )
    model.compile(
        optimizer=optimizer,
        loss=task.loss,
        metrics=task.metrics(model.output_shape[-1]),
        steps_per_execution=settings.steps_per_execution,
    )
    return model, parts


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras's TensorBoard (epoch scalars and the graph), each epoch's events flushed with it.

    A resumed run adds event files beside the old ones and goes on at its epoch (TensorBoard's
    step), so the events of a killed run's finished epochs must be on disk, not in a writer's
    queue. Its batch hooks write nothing when it writes per epoch: they may run off the main
    thread, which lets JAX queue steps ahead rather than wait for each.
    """

    async_safe = True

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir=str(log_dir))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        super().on_epoch_end(epoch, logs)
        for writer in self._writers.values():  # Keras keeps them private, and flushes at close
            writer.flush()


# A training step of the demo's models on a 2-core CPU, JAX against TensorFlow: segmentation
# 6.4x, convnet 6.1x, mini Xception 7.8x (bench/backends.py, bench/README.md).
JAX_CPU_SLOWDOWN = "6 to 8 times slower"


def warn_if_slow_backend() -> None:
    """Log a warning when JAX trains on a CPU, where XLA runs some of our layers far slower."""
    if keras.backend.backend() == "jax" and not hardware.has_accelerator():
        log.warning(
            "the JAX backend runs on a CPU here, where it trains %s than TensorFlow: XLA's CPU "
            "code is slow for strided Conv2DTranspose, depthwise convolutions, max-pooling "
            "gradients and the augmentation's rotations and zooms (bench/README.md). On a CPU "
            "use keras_backend: tensorflow; JAX is for GPUs",
            JAX_CPU_SLOWDOWN,
        )
