"""A state folder's checkpoints: every best model so far and the latest resume point, durable."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import h5py
import keras

from snakevision.training.states import BEST, RESUME, durable, epoch_of, finished, saves

# The group Checkpoints adds to Keras's weights file for the random layers' seed states.
SEED_STATES = "snakevision_seed_states"


class Checkpoints(keras.callbacks.Callback):
    """After each epoch: the model if its val_loss is the lowest yet, and the state to resume from.

    Both are written atomically, where Keras's ModelCheckpoint and BackupAndRestore write in
    place: a job killed while they write (a time limit, a power cut) leaves a half file that
    the rerun cannot load. Every best model is kept (best-0003.keras, one per improvement, the
    model alone), so that a request for fewer epochs is served the best model of its own
    epochs; of the resume points only the latest, which replaces the one before only once
    written. A resume point is the weights, the optimizer's variables and the seed states of
    the random layers (augmentation, dropout), which Keras leaves out of weights: with them a
    resumed run trains as an uninterrupted one would. A rerun drops best models newer than its
    resume point: they came from an epoch it trains again. Written durably (fsync), as the log
    line that follows them promises they are kept.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder, self.best_val_loss = Path(folder), None

    @property
    def best(self) -> Path | None:
        """The best model saved so far, if any epoch reached a finite val_loss."""
        return self.best_until(None)

    def best_until(self, epoch: int | None) -> Path | None:
        """The best model of the first epochs: the latest one saved at or before it."""
        found = [s for s in saves(self.folder, BEST) if epoch is None or epoch_of(s) <= epoch]
        return found[-1] if found else None

    def finished(self) -> int:
        """The epochs the latest resume point had finished (0 if there is none)."""
        return finished(self.folder)

    def verify(self, epoch: int) -> None:
        """Raise ValueError if the best model of the first epochs is not a whole .keras file."""
        best = self.best_until(epoch)
        if best is None:
            return
        try:
            with zipfile.ZipFile(best) as saved:
                bad = saved.testzip()
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{best.name}: {exc}") from exc
        if bad is not None:
            raise ValueError(f"{best.name}: {bad} is damaged")

    def restore(self, model: keras.Model) -> int:
        """Load the latest resume point into a compiled model; the epochs it had finished."""
        done = self.finished()
        for best in saves(self.folder, BEST):
            if epoch_of(best) > done:
                best.unlink()
        if not done:
            return 0
        latest = saves(self.folder, RESUME)[-1]
        model.optimizer.build(model.trainable_variables)
        model.load_weights(latest)
        with h5py.File(latest, "r") as saved:
            for i, state in enumerate(seed_states(model)):
                state.assign(saved[f"{SEED_STATES}/{i}"][()])
        return done

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        val_loss = (logs or {}).get("val_loss", math.nan)
        # A diverged epoch (NaN) is never the best, as with Keras's ModelCheckpoint.
        if math.isfinite(val_loss) and (
            self.best_val_loss is None or val_loss < self.best_val_loss
        ):
            self.best_val_loss = val_loss
            with durable(self.folder / BEST.replace("*", f"{epoch + 1:04d}")) as tmp:
                inference_copy(self.model).save(tmp)
        save = self.folder / RESUME.replace("*", f"{epoch + 1:04d}")
        with durable(save) as tmp:
            self.model.save_weights(tmp)
            with h5py.File(tmp, "a") as saved:
                for i, state in enumerate(seed_states(self.model)):
                    saved[f"{SEED_STATES}/{i}"] = keras.ops.convert_to_numpy(state)
        for old in saves(self.folder, RESUME)[:-1]:
            old.unlink()


def inference_copy(model: keras.Model) -> keras.Model:
    """The model with its weights, uncompiled: no optimizer state, which the later stages never
    use (the book's model: 11.6 MB, not 35 with RMSprop's and the micro-batches' variables)."""
    twin = type(model).from_config(model.get_config())
    twin.set_weights(model.get_weights())
    return twin


def seed_states(model: keras.Model) -> list:
    """The random layers' seed states: what model.variables holds beyond model.weights."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]
