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

import h5py
import keras
import numpy as np
import pandas as pd

from snakevision import hardware, precision
from snakevision.batching import CPU_MICRO_BATCH, batch_problem
from snakevision.files import atomic, write_csv, write_json

log = logging.getLogger(__name__)

# Checkpoints' files, named by epoch (best-0003.keras), and the group it adds to Keras's
# weights file for the random layers' seed states.
BEST, RESUME = "best-*.keras", "epoch-*.weights.h5"
SEED_STATES = "snakevision_seed_states"

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

    @classmethod
    def from_params(cls, params: Any) -> Settings:
        """Settings from a mapping, ignoring keys that are not hyperparameters of training."""
        values = dict(params)
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


class Batches(keras.utils.PyDataset):
    """Batches of uint8 images (and labels) read from arrays on disk (npy.Rows) or in memory.

    Images stay uint8 until the model's first layer: no float copy of the data set exists.
    Shuffled, each epoch's order is drawn from (seed, epoch): a run resumed at epoch e sees the
    batches an uninterrupted run would. With micro_batches k, each batch comes as k consecutive
    parts (sizes differing by at most one image) for an optimizer that accumulates k steps; a
    last batch of fewer than k images joins the one before, so every accumulation ends with its
    batch.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray | None,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        epoch: int = 0,
        label_dtype: str | None = None,
        micro_batches: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        n = len(images)
        if labels is not None and len(labels) != n:
            raise ValueError(f"{n} images but {len(labels)} labels")
        if n < micro_batches:
            raise ValueError(f"{n} images cannot make {micro_batches} micro-batches")
        self.images, self.labels = images, labels
        self.shuffle, self.label_dtype, self.parts = shuffle, label_dtype, micro_batches
        self.starts = list(range(0, n, batch_size)) + [n]
        if len(self.starts) > 2 and n - self.starts[-2] < micro_batches:
            del self.starts[-2]
        self.seed, self.epoch = seed, epoch
        self.order = self._order()

    def __len__(self) -> int:
        return (len(self.starts) - 1) * self.parts

    def __getitem__(self, i: int):
        batch, part = divmod(i, self.parts)
        # Sorted rows come off disk in file order, runs of them in one read; same batch content.
        rows = np.sort(self.order[self.starts[batch] : self.starts[batch + 1]])
        if self.parts > 1:
            rows = np.array_split(rows, self.parts)[part]
        x = np.asarray(self.images[rows])
        if self.labels is None:
            return x
        y = np.asarray(self.labels[rows])
        return x, (y.astype(self.label_dtype) if self.label_dtype else y)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()

    def _order(self) -> np.ndarray:
        n = len(self.images)
        return (
            np.random.default_rng((self.seed, self.epoch)).permutation(n)
            if self.shuffle
            else np.arange(n)
        )


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
        seeds = _seed_states(model)
        with h5py.File(latest, "r") as saved:
            if SEED_STATES in saved:
                for i, state in enumerate(seeds):
                    state.assign(saved[f"{SEED_STATES}/{i}"][()])
            elif seeds:  # a state saved by an older snakevision
                log.warning("%s has no seed states: random layers draw afresh", latest)
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
    section: str = "train",
) -> pd.DataFrame:
    """Train with the best val_loss model kept, resumable from state_dir, then write outputs.

    train and val are (images, labels) arrays, in memory or on disk (npy.Rows). state_dir is not
    a declared output, so Snakemake keeps it when a job is killed, and the rerun continues from
    the last finished epoch if it is the same run (claim_state). It is removed after success.
    section names the settings' config section in messages ('segmentation.train').
    """
    if problem := batch_problem(section, settings.batch_size, len(train[0]), "the train split"):
        raise ValueError(problem)
    warn_if_slow_backend()
    state_dir = Path(state_dir)
    policy = precision.choose(settings.precision)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(settings.seed)
    model = build()
    parts = micro_batches(settings.micro_batches, settings.batch_size, model, policy)
    claim_state(
        state_dir, run_identity(model, settings, policy, parts, train, val), settings.epochs
    )
    log.info(
        "training %s (%d parameters) on %d images, validating on %d; %s; backend %s, policy %s, "
        "%d micro-batch(es) per batch",
        model.name,
        model.count_params(),
        len(train[0]),
        len(val[0]),
        settings,
        keras.backend.backend(),
        policy,
        parts,
    )
    optimizer = OPTIMIZERS[settings.optimizer](
        learning_rate=settings.learning_rate,
        gradient_accumulation_steps=parts if parts > 1 else None,
    )
    model.compile(
        optimizer=optimizer,
        loss=task.loss,
        metrics=task.metrics(),
        steps_per_execution=settings.steps_per_execution,
    )
    history = EpochLog(state_dir / "history.csv", len(train[0]), policy, parts)
    checkpoints = Checkpoints(state_dir)
    start = checkpoints.restore(model)
    if start and checkpoints.best:
        checkpoints.best_val_loss = history.best_val_loss(start)
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
        # The history row is written first: a job killed before the checkpoints redoes the
        # epoch rather than skipping it.
        callbacks=[history, checkpoints],
        verbose=0,
    )
    if not checkpoints.best:
        raise RuntimeError(
            f"no epoch of {settings.epochs} reached a finite val_loss (history in {state_dir}): "
            "training diverged; lower the learning rate or use float32"
        )
    with atomic(Path(model_path)) as tmp:
        shutil.copyfile(checkpoints.best, tmp)
    table = pd.DataFrame(history.rows)
    write_csv(table, history_path)
    shutil.rmtree(state_dir)
    return table


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


def micro_batches(
    requested: int | str, batch_size: int, model: keras.Model, policy: str = "float32"
) -> int:
    """How many parts each batch goes through the model in, gradients averaged before the update.

    Equal to one pass over the whole batch, unless the model normalises over the batch: batch
    normalisation would then see only a part. An epoch's last batch, when batch_size does not
    divide the split, differs a little: its parts differ by one image yet weigh alike, and with
    fewer images than parts it joins the batch before. 'auto' splits only on a CPU, into parts
    of at most CPU_MICRO_BATCH images: there activations take host memory, and the book's
    segmentation job peaks at 4.5 GB with one pass per batch of 64 and 1.6 GB with eight
    (bench/README.md). Never under mixed_float16: its loss scaling skips the parts whose
    gradients overflow, which shifts the accumulation off the batches' bounds.
    """
    batch_norm = keras.layers.BatchNormalization
    normalised = [layer.name for layer in _all_layers(model) if isinstance(layer, batch_norm)]
    if normalised:
        whole = (
            f"model {model.name} has batch normalization ({normalised[0]}...), which would "
            "normalise over parts of a batch"
        )
    elif policy == "mixed_float16":
        whole = (
            "mixed_float16's loss scaling skips the parts whose gradients overflow, so updates "
            "would mix parts of different batches (mixed_bfloat16 has no loss scaling)"
        )
    else:
        whole = ""
    if requested == "auto":
        if whole:
            parts, why = 1, whole
        elif hardware.has_accelerator():
            parts, why = 1, "activations live in accelerator memory"
        else:
            parts = math.ceil(batch_size / CPU_MICRO_BATCH)
            why = f"on a CPU, parts of at most {CPU_MICRO_BATCH} images"
        log.info("micro_batches auto -> %d (%s)", parts, why)
        return parts
    if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
        raise ValueError(f"micro_batches {requested!r} is not 'auto' or a whole number >= 1")
    if requested > batch_size:
        raise ValueError(f"micro_batches {requested} exceeds batch_size {batch_size}")
    if requested > 1 and whole:
        raise ValueError(f"micro_batches {requested}: {whole}; use 1")
    return requested


def _all_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of a model, those inside nested models included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def wait_for_device(model: keras.Model) -> None:
    """Block until the device has run every training step queued so far.

    On JAX the host queues steps ahead of the device; timing an epoch's training at the start
    of its validation must wait for them. Reading the step counter waits for the last step.
    """
    keras.ops.convert_to_numpy(model.optimizer.iterations)


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


def architecture(model: keras.Model) -> str:
    """CRC-32 of every layer's class and config (names left out: they count up per process)."""
    layers = [
        [type(layer).__name__, {} if isinstance(layer, keras.Model) else layer.get_config()]
        for layer in _all_layers(model)
    ]
    for _, config in layers:
        config.pop("name", None)
    return f"{zlib.crc32(json.dumps(layers, sort_keys=True, default=str).encode()):08x}"


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
