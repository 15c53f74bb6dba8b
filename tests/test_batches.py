"""The data feed: batches in a seeded order per epoch, split into micro-batches."""

from __future__ import annotations

import numpy as np
from snakevision.data.batches import Batches


def test_batches_cover_every_row_once_per_epoch_in_a_seeded_order():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1).repeat(2, axis=1)
    labels = np.arange(10, dtype=np.uint8)
    batches = Batches(images, labels, 4, shuffle=True, seed=3, label_dtype="float32")
    assert len(batches) == 3
    seen = [batches[i] for i in range(len(batches))]
    assert [len(x) for x, _ in seen] == [4, 4, 2]
    rows = np.concatenate([x[:, 0, 0, 0] for x, _ in seen])
    assert sorted(rows.tolist()) == list(range(10))
    assert all(x.dtype == np.uint8 and y.dtype == np.float32 for x, y in seen)
    assert all((x[:, 0, 0, 0] == y).all() for x, y in seen)  # images and labels stay paired
    again = Batches(images, labels, 4, shuffle=True, seed=3)
    assert np.array_equal(again[0][0], seen[0][0])
    batches.on_epoch_end()
    assert sorted(np.concatenate([batches[i][1] for i in range(3)]).tolist()) == list(range(10))
    resumed = Batches(images, labels, 4, shuffle=True, seed=3, epoch=1)
    assert np.array_equal(resumed.order, batches.order)  # epoch 2's order, whatever came before
    assert not np.array_equal(resumed.order, again.order)
    ordered = Batches(images, None, 4)
    assert ordered[0][:, 0, 0, 0].tolist() == [0, 1, 2, 3]


def test_micro_batches_split_each_batch_and_a_short_last_one_joins_the_one_before():
    images = np.arange(22, dtype=np.uint8).reshape(22, 1, 1, 1)
    labels = np.arange(22, dtype=np.uint8)
    whole = Batches(images, labels, 8, shuffle=True, seed=1)
    parts = Batches(images, labels, 8, shuffle=True, seed=1, micro_batches=4)
    assert (len(whole), len(parts)) == (3, 12)
    for i in range(3):  # four consecutive parts make up batch i
        joined = np.concatenate([parts[4 * i + p][1] for p in range(4)])
        assert joined.tolist() == whole[i][1].tolist()
    assert [len(parts[i][1]) for i in range(12)] == [2] * 8 + [2, 2, 1, 1]
    short = Batches(images[:19], labels[:19], 8, micro_batches=4)  # 8, 8 and 3 images
    assert [len(short[i][1]) for i in range(len(short))] == [2, 2, 2, 2, 3, 3, 3, 2]
