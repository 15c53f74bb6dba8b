"""The data feed: uint8 batches read from arrays on disk (npy.Rows) or in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np


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


def predict(model: keras.Model, images: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Model outputs batch by batch, as float32 numpy arrays (a generator)."""
    for batch in Batches(images, None, batch_size):
        yield np.asarray(model.predict_on_batch(batch), dtype=np.float32)
