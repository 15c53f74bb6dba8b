"""Training shared by every model: streamed uint8 batches, precision policy, resumable fit."""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from snakevision import precision
from snakevision.files import atomic, write_csv, write_json

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

    @classmethod
    def from_params(cls, params: Any) -> Settings:
        """Settings from a mapping, ignoring keys that are not hyperparameters of training."""
        values = dict(params)
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


class Batches(keras.utils.PyDataset):
    """Batches of uint8 images (and labels) read from arrays on disk (npy.Rows) or in memory.

    Images stay uint8 until the model's first layer: no float copy of the data set exists.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        label_dtype: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.label_dtype = batch_size, shuffle, label_dtype
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(images)) if shuffle else np.arange(len(images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, i: int):
        # Sorted rows come off disk in file order, runs of them in one read; same batch content.
        rows = np.sort(self.order[i * self.batch_size : (i + 1) * self.batch_size])
        x = np.asarray(self.images[rows])
        if self.labels is None:
            return x
        y = np.asarray(self.labels[rows])
        return x, (y.astype(self.label_dtype) if self.label_dtype else y)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self.rng.permutation(len(self.images))


class EpochLog(keras.callbacks.Callback):
    """One history row per epoch, kept in the run's state folder so a resumed run continues it."""

    def __init__(self, path: Path, num_images: int, policy: str) -> None:
        super().__init__()
        self.path, self.num_images, self.policy = Path(path), num_images, policy
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
        wait_for_device(self.model)
        self.train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        end = time.perf_counter()
        train_seconds = (self.train_end if self.train_end > self.start else end) - self.start
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row.update(
            seconds=round(end - self.start, 3),
            images_per_s=round(self.num_images / train_seconds, 2),
            precision=self.policy,
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

    def best_val_loss(self) -> float | None:
        losses = [r["val_loss"] for r in self.rows if "val_loss" in r]
        return min(losses) if losses else None


@dataclass(frozen=True)
class Task:
    """What differs between tasks: the loss, metrics and label type."""

    loss: Any
    metrics: Callable[[], list]
    label_dtype: str | None = None


def fit(
    build: Callable[[], keras.Model],
    task: Task,
    settings: Settings,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    model_path: Path,
    history_path: Path,
    state_dir: Path,
) -> pd.DataFrame:
    """Train with the best val_loss model kept, resumable from state_dir, then write outputs.

    train and val are (images, labels) arrays, in memory or on disk (npy.Rows). state_dir is not
    a declared output, so Snakemake keeps it when a job is killed, and the rerun continues from
    the last finished epoch if it is the same run (claim_state). It is removed after success.
    """
    state_dir = Path(state_dir)
    policy = precision.choose(settings.precision)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(settings.seed)
    model = build()
    claim_state(state_dir, run_identity(model, settings, policy, train, val))
    log.info(
        "training %s (%d parameters) on %d images, validating on %d; %s; backend %s, policy %s",
        model.name,
        model.count_params(),
        len(train[0]),
        len(val[0]),
        settings,
        keras.backend.backend(),
        policy,
    )
    optimizer = OPTIMIZERS[settings.optimizer](learning_rate=settings.learning_rate)
    model.compile(
        optimizer=optimizer,
        loss=task.loss,
        metrics=task.metrics(),
        steps_per_execution=settings.steps_per_execution,
    )
    history = EpochLog(state_dir / "history.csv", len(train[0]), policy)
    best = state_dir / "best.keras"
    # Order matters when a job is killed between callbacks: the history row and the best model
    # are written before the backup, so a resumed run redoes an epoch rather than skipping one.
    callbacks = [
        history,
        per_epoch(
            keras.callbacks.ModelCheckpoint(
                str(best),
                monitor="val_loss",
                save_best_only=True,
                initial_value_threshold=history.best_val_loss() if best.exists() else None,
            )
        ),
        per_epoch(keras.callbacks.BackupAndRestore(str(state_dir / "backup"))),
    ]
    # Two reader threads keep the next batches ready while the device computes.
    batches = dict(batch_size=settings.batch_size, label_dtype=task.label_dtype, workers=2)
    model.fit(
        Batches(*train, shuffle=True, seed=settings.seed, **batches),
        validation_data=Batches(*val, **batches),
        epochs=settings.epochs,
        callbacks=callbacks,
        verbose=0,
    )
    with atomic(Path(model_path)) as tmp:
        shutil.copyfile(best, tmp)
    table = pd.DataFrame(history.rows)
    write_csv(table, history_path)
    shutil.rmtree(state_dir)
    return table


def wait_for_device(model: keras.Model) -> None:
    """Block until the device has run every training step queued so far.

    On JAX the host queues steps ahead of the device; timing an epoch's training at the start
    of its validation must wait for them. Reading the step counter waits for the last step.
    """
    keras.ops.convert_to_numpy(model.optimizer.iterations)


def per_epoch(callback: keras.callbacks.Callback) -> keras.callbacks.Callback:
    """Mark a callback that saves once per epoch as safe for asynchronous batch hooks.

    Its on_train_batch_end does nothing then, but merely having one makes Keras wait for the
    device after every step (on JAX), so the host cannot queue the next step meanwhile.
    """
    if callback.save_freq != "epoch":
        raise ValueError(f"{type(callback).__name__} must save once per epoch to run async")
    callback.async_safe = True
    return callback


def checksum(array: Any, chunk: int = 256) -> str:
    """CRC-32 of an array's bytes, read a chunk of rows at a time (arrays on disk included)."""
    crc = 0
    for start in range(0, len(array), chunk):
        crc = zlib.crc32(np.ascontiguousarray(array[start : start + chunk]), crc)
    return f"{crc:08x}"


def run_identity(
    model: keras.Model,
    settings: Settings,
    policy: str,
    train: tuple[Any, Any],
    val: tuple[Any, Any],
) -> dict:
    """What a resumed run must share with the interrupted one: everything but the epochs."""
    arrays = dict(zip(("train_images", "train_labels", "val_images", "val_labels"), (*train, *val)))
    identity = {
        "model": model.name,
        "parameters": model.count_params(),
        "input_shape": model.input_shape,
        "settings": {k: v for k, v in asdict(settings).items() if k != "epochs"},
        "policy": policy,
        "backend": keras.backend.backend(),
        "data": {name: [len(a), checksum(a)] for name, a in arrays.items()},
    }
    return json.loads(json.dumps(identity))  # as it reads back from run.json


def claim_state(state_dir: Path, identity: dict) -> None:
    """Keep state_dir for resuming only if it was left by the same run; record this run there.

    Snakemake reruns training when its parameters or inputs change; resuming the state of the
    old run then would silently mix two experiments.
    """
    record = state_dir / "run.json"
    if state_dir.exists():
        old = json.loads(record.read_text()) if record.exists() else {}
        changed = [key for key in identity if old.get(key) != identity[key]]
        if changed:
            log.warning(
                "starting afresh: the resume state in %s is from a run with other %s",
                state_dir,
                ", ".join(changed),
            )
            shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    write_json(identity, record)


def predict(model: keras.Model, images: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Model outputs batch by batch, as float32 numpy arrays (a generator)."""
    for batch in Batches(images, None, batch_size):
        yield np.asarray(model.predict_on_batch(batch), dtype=np.float32)


def mean_iou(num_classes: int) -> keras.metrics.MeanIoU:
    """Keras's MeanIoU on softmax outputs, counting its confusion matrix without a scatter.

    Keras adds every pixel into the n x n matrix with a scatter-add: on a GPU millions of
    updates contend for n*n cells (about 1 ms per million, and a CAS loop far slower than that
    in jaxlib 0.10.2 to 0.11.0: jax-ml/jax#38806). Comparing and summing per cell is a plain
    reduction. Only update_state is replaced, on this instance, so the metric saves as a
    standard MeanIoU and a saved model loads without this code.
    """
    metric = keras.metrics.MeanIoU(num_classes=num_classes, sparse_y_pred=False, name="mean_iou")
    cells = keras.ops.arange(num_classes * num_classes, dtype="int32")

    def update_state(y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("mean_iou takes no sample weights")
        true = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1, 1))
        pred = keras.ops.reshape(keras.ops.cast(keras.ops.argmax(y_pred, -1), "int32"), (-1, 1))
        # A label outside 0..n-1 lands outside the cells and is not counted, as in Keras.
        hits = keras.ops.equal(true * num_classes + pred, cells)
        counts = keras.ops.sum(keras.ops.cast(hits, "int32"), axis=0)
        shape = (num_classes, num_classes)
        metric.total_cm.assign_add(keras.ops.cast(keras.ops.reshape(counts, shape), metric.dtype))

    metric.update_state = update_state
    return metric


SEGMENTATION = Task(
    loss="sparse_categorical_crossentropy",
    metrics=lambda: [
        keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy"),
        mean_iou(3),
    ],
)
CLASSIFICATION = Task(
    loss="binary_crossentropy",
    metrics=lambda: [keras.metrics.BinaryAccuracy(name="accuracy")],
    label_dtype="float32",
)


def state_dir(model_path: Path) -> Path:
    """The undeclared folder holding a run's resume state, beside its model."""
    return model_path.parent / ".train_state"
