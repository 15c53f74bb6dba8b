"""The shared training machinery: batches, precision, resumable fit, evaluation, backends."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys

import h5py
import keras
import numpy as np
import pandas as pd
import pytest
from snakevision.evaluation import scoring
from snakevision.evaluation.metrics import confusion_matrix, per_image_iou, segmentation_metrics
from snakevision.models import catalog, classification, segmentation
from snakevision.models.build import build
from snakevision.training import batch_sizes, hardware, iou, precision, states, trainer
from snakevision.training.checkpoints import SEED_STATES
from snakevision.training.identity import run_identity

SIZE = 32


def tiny_data(n=24, seed=0):
    """Images whose masks are learnable: bright squares are the pet."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, SIZE, SIZE, 3), dtype=np.uint8)
    masks = np.ones((n, SIZE, SIZE, 1), dtype=np.uint8)
    for i in range(n):
        y, x = rng.integers(2, SIZE // 2, 2)
        images[i, y : y + 12, x : x + 12] += 180
        masks[i, y : y + 12, x : x + 12] = 0
        masks[i, y - 1 : y + 13, x - 1 : x + 13][masks[i, y - 1 : y + 13, x - 1 : x + 13] == 1] = 2
    return images, masks


def state_folder(root):
    """The one state folder under a run's state root (.train_state/<key>/)."""
    folders = [p for p in root.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def fit_segmentation(settings, folder, images, masks):
    """trainer.fit of the segmentation model, validated on 8 of the images; outputs in folder."""
    return trainer.fit(
        lambda: segmentation.book(SIZE, 3),
        trainer.OBJECTIVES["segmentation"],
        settings,
        (images, masks),
        (images[:8], masks[:8]),
        model_path=folder / "model.keras",
        history_path=folder / "history.csv",
        state_dir=folder / "state",
    )


def test_micro_batches_auto_splits_on_a_cpu_only_and_never_under_batch_norm():
    def auto(batch, batch_norm=False, precision="float32", accelerator=False, size=200):
        return batch_sizes.micro_batches("auto", batch, batch_norm, precision, accelerator, size)

    assert auto(64) == 8  # parts of 8 images at the book's 200 px
    assert auto(20) == 3
    assert auto(64, accelerator=True) == 1
    assert batch_sizes.micro_batches(4, 8, False, "float32", True, 200) == 4
    assert auto(64, precision="mixed_float16") == 1
    assert auto(64, batch_norm=True) == 1


def test_micro_batches_auto_keeps_the_pixels_of_a_part_so_smaller_images_take_fewer_parts():
    sizes = [400, 200, 128, 96, 64]
    parts = [batch_sizes.micro_batches("auto", 64, False, "float32", False, s) for s in sizes]
    assert parts == [32, 8, 4, 2, 1]
    assert batch_sizes.micro_batches("auto", 64, False, "float32", False, 2000) == 64  # 1 image


@pytest.mark.parametrize("name", [n for n, m in catalog.MODELS.items() if m.trains])
def test_the_catalog_says_which_models_have_batch_normalization(name):
    """The catalog's batch_norm, which the config check and the memory requests read, matches
    the built model, whose Keras name is its catalog name."""
    task = catalog.task_of(name)
    model = build(task, name, 80 if task == catalog.CLASSIFICATION else SIZE)
    assert model.name == name
    assert trainer.has_batch_norm(model) == catalog.MODELS[name].batch_norm


def test_micro_batches_train_as_whole_batches(tmp_path):
    """Parts with averaged gradients make the same updates as one pass over each batch.

    SGD, because RMSprop's first steps divide by the gradient's own size: float rounding in
    gradients near zero then flips whole steps, and the runs drift apart within 1%. A learning
    rate large enough that parts accumulated in other groups (other batches' parts mixed into
    one update) move the losses and weights 10 times past the tolerances.
    """
    images, masks = tiny_data(n=24)
    histories, weights = [], []
    for parts in (1, 4):
        out = tmp_path / str(parts)
        settings = trainer.Settings(
            epochs=3,
            batch_size=8,
            optimizer="sgd",
            learning_rate=0.1,
            precision="float32",
            micro_batches=parts,
        )
        histories.append(fit_segmentation(settings, out, images, masks))
        weights.append(keras.models.load_model(out / "model.keras").get_weights())
    whole, split = histories
    for column in ("loss", "val_loss", "val_mean_iou"):
        np.testing.assert_allclose(whole[column], split[column], rtol=3e-6, err_msg=column)
    assert whole.loss.is_monotonic_decreasing and whole.loss.nunique() == 3  # it learned
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)  # float rounding of the sums


def test_settings_take_only_training_keys():
    settings = trainer.Settings.from_params({"epochs": 3, "batch_size": 8, "plot": 1})
    assert settings.epochs == 3 and settings.batch_size == 8 and settings.optimizer == "rmsprop"


def test_precision_auto_follows_the_hardware(tmp_path):
    amx, avx512 = tmp_path / "amx", tmp_path / "avx512"
    amx.write_text("processor : 0\nflags : fpu avx512f amx_bf16 amx_tile\n")
    avx512.write_text("processor : 0\nflags : fpu avx512f avx512_vnni\n")  # this CI machine's kind
    assert {"amx_bf16", "avx512f"} <= hardware.cpu_flags(amx)
    assert hardware.cpu_flags(tmp_path / "missing") == set()
    if not hardware.gpu_capabilities():  # a GPU decides by itself
        assert hardware.fast_bf16(amx) == (True, "CPU with amx_bf16")
        assert hardware.fast_bf16(avx512)[0] is False
        assert hardware.fast_bf16(tmp_path / "missing")[0] is False
    fast, why = hardware.fast_bf16()
    assert precision.choose("auto") == ("mixed_bfloat16" if fast else "float32"), why
    assert precision.choose("float32") == "float32"


class Interrupt(Exception):
    """Stands for a killed job."""


class FailingImages:
    """Training images that fail when read the `fail_at`-th time, as a killed job stops."""

    def __init__(self, images, fail_at):
        self.images, self.reads, self.fail_at = images, 0, fail_at

    def __len__(self):
        return len(self.images)

    def __getitem__(self, rows):
        self.reads += 1
        if self.reads == self.fail_at:
            raise Interrupt
        return self.images[rows]


def interrupted_fit(tmp_path, settings):
    """Fit until the data fails after epoch 1; return the fit's arguments and epochs done."""
    images, masks = tiny_data()
    paths = dict(
        model_path=tmp_path / "model.keras",
        history_path=tmp_path / "history.csv",
        state_dir=tmp_path / "state",
    )
    build = lambda: segmentation.book(SIZE, 3)  # noqa: E731
    # One read for the data's checksum, then 3 batches per epoch (reader threads read ahead):
    # the 11th read falls after epoch 1.
    with pytest.raises(Exception, match="Interrupt"):  # TensorFlow wraps what the data raised
        trainer.fit(
            build,
            trainer.OBJECTIVES["segmentation"],
            settings,
            (FailingImages(images, 11), masks),
            (images[:8], masks[:8]),
            **paths,
        )
    first = pd.read_csv(state_folder(tmp_path / "state") / "history.csv")
    assert 1 <= len(first) < settings.epochs
    assert first.epoch.tolist() == list(range(1, len(first) + 1))
    assert not paths["model_path"].exists()
    args = (build, trainer.OBJECTIVES["segmentation"])
    return args, ((images, masks), (images[:8], masks[:8])), paths, first


def uninterrupted_fit(tmp_path, *args):
    """The same fit run straight through, in a folder of its own."""
    out = tmp_path / "straight"
    paths = dict(model_path=out / "model.keras", history_path=out / "h.csv", state_dir=out / "s")
    history = trainer.fit(*args, **paths)
    return history, keras.models.load_model(paths["model_path"])


def assert_same_training(history, model, other_history, other_model):
    """Two runs reached the same losses each epoch and the same best model."""
    learned = [c for c in history.columns if "loss" in c or "acc" in c or "iou" in c]
    pd.testing.assert_frame_equal(history[learned], other_history[learned], rtol=1e-5)
    for a, b in zip(model.weights, other_model.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_fit_resumes_from_the_last_finished_epoch_as_if_never_stopped(tmp_path, caplog):
    settings = trainer.Settings(epochs=4, batch_size=8, precision="float32", optimizer="adam")
    args, data, paths, first = interrupted_fit(tmp_path, settings)
    done = len(first)
    with caplog.at_level(logging.INFO):
        history = trainer.fit(*args, settings, *data, **paths)
    assert f"resuming from epoch {done + 1} of 4" in caplog.text
    assert history.epoch.tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(history.iloc[:done], first)
    assert {"val_mean_iou", "val_pixel_accuracy", "images_per_s", "seconds"} <= set(history.columns)
    assert (history.precision == "float32").all()
    # The finished run's state stays: every best model so far, the latest resume point.
    folder = state_folder(paths["state_dir"])
    kept = sorted(p.name for p in folder.iterdir())
    bests = [name for name in kept if name.startswith("best-")]
    assert bests and all(re.fullmatch(r"best-000[1-4]\.keras", name) for name in bests)
    assert kept[len(bests) :] == ["epoch-0004.weights.h5", "epochs.log", "history.csv", "run.json"]
    assert json.loads((paths["state_dir"] / "current.json").read_text()) == {
        "state": folder.name,
        "epochs": 4,
    }
    saved = pd.read_csv(paths["history_path"])
    assert saved.epoch.tolist() == [1, 2, 3, 4]
    model = keras.models.load_model(paths["model_path"])
    assert model.output_shape == (None, SIZE, SIZE, 3)
    # The epochs after the resume saw the batches, in the order, that a run never stopped sees.
    assert_same_training(history, model, *uninterrupted_fit(tmp_path, *args, settings, *data))


def test_a_resumed_fit_draws_the_augmentation_and_dropout_of_an_uninterrupted_one(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, 80, 80, 3), dtype=np.uint8)
    labels = images[:, :40].mean(axis=(1, 2, 3)) > images[:, 40:].mean(axis=(1, 2, 3))
    data = ((images, labels.astype(np.uint8)), (images[:8], labels[:8].astype(np.uint8)))
    args = (lambda: classification.convnet(80, seed=1), trainer.OBJECTIVES["classification"])
    settings = trainer.Settings(epochs=3, batch_size=8, precision="float32", optimizer="adam")
    paths = dict(
        model_path=tmp_path / "model.keras",
        history_path=tmp_path / "history.csv",
        state_dir=tmp_path / "state",
    )
    # Reads: the checksum, two batches Keras inspects for their shapes, then 3 per epoch: the
    # 8th falls in epoch 2.
    with pytest.raises(Exception, match="Interrupt"):
        trainer.fit(*args, settings, (FailingImages(images, 8), data[0][1]), data[1], **paths)
    folder = state_folder(paths["state_dir"])
    assert len(pd.read_csv(folder / "history.csv")) == 1
    with h5py.File(next(folder.glob("epoch-*.weights.h5"))) as saved:
        assert len(saved[SEED_STATES]) == 4  # flip, rotation, zoom, dropout
    history = trainer.fit(*args, settings, *data, **paths)
    model = keras.models.load_model(paths["model_path"])
    assert_same_training(history, model, *uninterrupted_fit(tmp_path, *args, settings, *data))


def test_fit_resumes_with_more_epochs_and_other_settings_or_data_get_a_state_of_their_own(
    tmp_path, caplog
):
    settings = trainer.Settings(epochs=3, batch_size=8, precision="float32", optimizer="adam")
    args, data, paths, first = interrupted_fit(tmp_path, settings)
    root = paths["state_dir"]
    state = state_folder(root)
    identity = json.loads((state / "run.json").read_text())
    more = dataclasses.replace(settings, epochs=5, patience=2)  # the length is no identity
    assert identity == run_identity(args[0](), more, "float32", 1, *data)
    assert state.name == states.key(identity)

    other = dataclasses.replace(more, learning_rate=5e-4)
    differs = run_identity(args[0](), other, "float32", 1, *data)
    assert differs["settings"] != identity["settings"]
    images = data[0][0].copy()
    images[-1, 0, 0, 0] += 1  # one value of one training image
    changed = run_identity(args[0](), more, "float32", 1, (images, data[0][1]), data[1])
    assert changed["data"] != identity["data"]
    assert len({states.key(identity), states.key(differs), states.key(changed)}) == 3
    kept = {p.name: p.read_bytes() for p in state.iterdir()}
    with caplog.at_level(logging.INFO):
        history = trainer.fit(*args, other, *data, **paths)
    new = root / states.key(differs)
    assert (
        f"nothing to resume: starting at epoch 1 (no state for these settings in {root} yet: a "
        f"new one in {new.name}; the 1 other state(s) there stay (the latest, {state.name}, "
        "differs in settings.learning_rate))"
    ) in caplog.text
    assert "resuming" not in caplog.text
    assert history.epoch.tolist() == [1, 2, 3, 4, 5]
    assert history.val_loss.iloc[0] != first.val_loss.iloc[0]  # a new first epoch, not the old
    assert {p.name: p.read_bytes() for p in state.iterdir()} == kept  # the other state, untouched


def epoch_scalars(folder, tag="epoch_loss"):
    """(step, value) of a scalar in every TensorBoard event file of a folder, in file order."""
    import tensorflow as tf

    found = []
    for events in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag == tag:
                    found.append((event.step, float(tf.make_ndarray(value.tensor))))
    return found


def test_more_epochs_train_only_the_new_ones_as_a_straight_run_would(tmp_path, caplog):
    images, masks = tiny_data()
    args = (lambda: segmentation.book(SIZE, 3), trainer.OBJECTIVES["segmentation"])
    data = ((images, masks), (images[:8], masks[:8]))
    three = trainer.Settings(epochs=3, batch_size=8, precision="float32", optimizer="adam")
    five = dataclasses.replace(three, epochs=5)
    straight, straight_model = uninterrupted_fit(tmp_path, *args, five, *data)

    run = tmp_path / "run"
    paths = dict(
        model_path=run / "model.keras",
        history_path=run / "history.csv",
        state_dir=run / ".train_state",
        tensorboard_dir=run / "tensorboard",
    )
    first = trainer.fit(*args, three, *data, **paths)
    state = state_folder(run / ".train_state")
    board = run / "tensorboard" / state.name  # each state's events apart
    assert sorted(p.name for p in board.iterdir()) == ["train", "validation"]
    assert [s for s, _ in epoch_scalars(board / "train")] == [0, 1, 2]
    with caplog.at_level(logging.INFO):
        history = trainer.fit(*args, five, *data, **paths)
    assert f"resuming from epoch 4 of 5 (state in {state})" in caplog.text
    trained = re.findall(r"epoch (\d)/5: .*images/s$", caplog.text, re.MULTILINE)
    assert trained == ["4", "5"]  # only the new epochs; 1 to 3 are replayed as logged then
    assert len(re.findall(r"epoch [123]/3: .*before the resume", caplog.text)) == 3
    pd.testing.assert_frame_equal(history.iloc[:3], first)
    learned = ["loss", "pixel_accuracy", "mean_iou", "val_loss", "val_pixel_accuracy"]
    pd.testing.assert_frame_equal(history[learned], straight[learned], check_exact=True)
    model = keras.models.load_model(paths["model_path"])
    for a, b in zip(model.weights, straight_model.weights, strict=True):
        assert np.array_equal(a, b), a.path
    # TensorBoard: the new epochs appended to the first run's, each epoch once.
    losses = epoch_scalars(board / "train")
    assert [s for s, _ in losses] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in losses], history.loss, rtol=1e-6)
    assert [s for s, _ in epoch_scalars(board / "validation")] == [0, 1, 2, 3, 4]


def test_switching_settings_back_and_forth_serves_each_one_from_its_own_state(tmp_path, caplog):
    """Fewer epochs and the same epochs again are served from the state, nothing trained;
    other settings train in a state of their own, and switching back serves the first again."""
    images, masks = tiny_data(n=16)
    args = (lambda: segmentation.book(SIZE, 3), trainer.OBJECTIVES["segmentation"])
    data = ((images, masks), (images[:8], masks[:8]))
    root, board = tmp_path / ".train_state", tmp_path / "tensorboard"
    paths = dict(
        model_path=tmp_path / "model.keras",
        history_path=tmp_path / "history.csv",
        state_dir=root,
        tensorboard_dir=board,
    )
    three = trainer.Settings(epochs=3, batch_size=8, precision="float32", optimizer="adam")
    first = trainer.fit(*args, three, *data, **paths)
    state = state_folder(root)
    model = paths["model_path"].read_bytes()
    kept = {p.name: p.read_bytes() for p in state.iterdir()}

    def refit(settings):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            history = trainer.fit(*args, settings, *data, **paths)
        return history, re.findall(r"epoch (\d)/\d: .*images/s$", caplog.text, re.MULTILINE)

    two = dataclasses.replace(three, epochs=2)
    history, trained = refit(two)
    assert trained == []
    assert (
        f"all 2 epochs were trained before (state in {state}): outputs written from it, nothing "
        "trained; to train afresh, delete that folder"
    ) in caplog.text
    assert len(re.findall(r"epoch [12]/3: .*\(logged .*, from the state\)", caplog.text)) == 2
    pd.testing.assert_frame_equal(history, first.iloc[:2])
    pd.testing.assert_frame_equal(pd.read_csv(paths["history_path"]), first.iloc[:2])
    best = max(p for p in state.glob("best-*.keras") if states.epoch_of(p) <= 2)
    assert paths["model_path"].read_bytes() == best.read_bytes()
    # The same epochs again (a forced rerun): served, not trained.
    history, trained = refit(three)
    assert trained == [] and "all 3 epochs were trained before" in caplog.text
    pd.testing.assert_frame_equal(history, first)
    assert paths["model_path"].read_bytes() == model
    # Other settings: a state of their own, trained from epoch 1; the first stays as it was.
    other = dataclasses.replace(three, learning_rate=5e-4)
    history, trained = refit(other)
    assert trained == ["1", "2", "3"] and history.loss.iloc[1] != first.loss.iloc[1]
    assert len([p for p in root.iterdir() if p.is_dir()]) == 2
    assert {p.name: p.read_bytes() for p in state.iterdir()} == kept
    assert [s for s, _ in epoch_scalars(board / state.name / "train")] == [0, 1, 2]
    # Back to the first settings: served again, the same outputs.
    history, trained = refit(three)
    assert trained == []
    pd.testing.assert_frame_equal(history, first)
    assert paths["model_path"].read_bytes() == model
    assert json.loads((root / "current.json").read_text())["state"] == state.name


def test_a_rerun_that_finds_no_usable_state_says_why(tmp_path, caplog):
    images, masks = tiny_data(n=16)
    args = (lambda: segmentation.book(SIZE, 3), trainer.OBJECTIVES["segmentation"])
    root = tmp_path / "state"
    paths = dict(
        model_path=tmp_path / "model.keras", history_path=tmp_path / "h.csv", state_dir=root
    )
    one = trainer.Settings(epochs=1, batch_size=8, precision="float32", optimizer="adam")
    # Reads: the checksum, two batches Keras inspects for their shapes, then epoch 1's two.
    with caplog.at_level(logging.INFO), pytest.raises(Exception, match="Interrupt"):
        trainer.fit(*args, one, (FailingImages(images, 5), masks), (images, masks), **paths)
    state = state_folder(root)
    assert (state / "run.json").exists() and not list(state.glob("epoch-*"))
    assert (
        f"nothing to resume: starting at epoch 1 (no state for these settings in {root} yet: a "
        f"new one in {state.name})"
    ) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        trainer.fit(*args, one, (images, masks), (images, masks), **paths)
    assert (
        f"nothing to resume: starting at epoch 1 (the state in {state} has no finished epoch)"
        in caplog.text
    )
    (state / "epoch-0001.weights.h5").write_bytes(b"not a weights file")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        history = trainer.fit(
            *args, dataclasses.replace(one, epochs=2), (images, masks), (images, masks), **paths
        )
    assert re.search(
        r"WARNING .*nothing to resume: starting at epoch 1 \(starting afresh: the state "
        rf"in {re.escape(str(state))} cannot be loaded \(",
        caplog.text,
    )
    assert history.epoch.tolist() == [1, 2]


def test_a_run_that_never_reaches_a_finite_val_loss_says_it_diverged(tmp_path):
    images, masks = tiny_data(n=16)
    settings = trainer.Settings(
        epochs=2, batch_size=8, optimizer="sgd", learning_rate=1e30, precision="float32"
    )
    with pytest.raises(RuntimeError, match="no epoch of 2 reached a finite val_loss.*diverged"):
        fit_segmentation(settings, tmp_path, images, masks)
    assert not (tmp_path / "model.keras").exists()
    assert pd.read_csv(state_folder(tmp_path / "state") / "history.csv").val_loss.isna().all()


def test_a_gallery_shows_every_model_the_same_seeded_images():
    images, masks = tiny_data(n=10, seed=2)
    keras.utils.set_random_seed(0)
    first, second = segmentation.book(SIZE), segmentation.book(SIZE)
    plot = {"num_images": 3, "seed": 1}
    shown, truth, predicted = scoring.gallery({"a": first, "b": second}, images, masks, plot)
    alone = scoring.gallery({"a": first}, images, masks, plot)
    assert np.array_equal(shown, alone[0]) and np.array_equal(predicted["a"][0], alone[2]["a"][0])
    assert shown.shape == (3, SIZE, SIZE, 3) and truth.shape == (3, SIZE, SIZE)
    rows = [i for i in range(10) if any(np.array_equal(images[i], s) for s in shown)]
    assert len(rows) == 3 and np.array_equal(masks[rows, ..., 0], truth)  # pairs kept
    for labels, ious in predicted.values():
        assert labels.shape == truth.shape
        assert ious == [per_image_iou(t, p, 3) for t, p in zip(truth, labels, strict=True)]
    everything = scoring.gallery({"a": first}, images, masks, {"num_images": 12, "seed": 1})
    assert len(everything[0]) == 10  # at most all


def test_segmentation_evaluation_accumulates_over_uneven_batches():
    images, masks = tiny_data(n=11, seed=1)
    keras.utils.set_random_seed(0)
    model = segmentation.book(SIZE, 3)
    direct = model.predict(images, verbose=0).argmax(-1)
    expected = confusion_matrix(masks[..., 0], direct, 3)
    metrics = scoring.segmentation(model, images, masks, batch_size=4)
    assert metrics["confusion_matrix"] == expected.tolist()
    assert metrics["num_images"] == 11
    assert metrics["mean_iou"] == pytest.approx(segmentation_metrics(expected)["mean_iou"])
    json.dumps(metrics)  # plain Python values only


def mean_iou_histories() -> pd.DataFrame:
    """Train a tiny model with our mean_iou beside Keras's MeanIoU; their values per epoch."""
    images, masks = tiny_data()
    keras.utils.set_random_seed(0)
    model = segmentation.book(SIZE, 3)
    keras_iou = keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False, name="keras_iou")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=[iou.mean_iou(3), keras_iou])
    history = model.fit(
        images, masks, batch_size=8, epochs=2, validation_data=(images, masks), verbose=0
    )
    return pd.DataFrame(history.history)


def test_mean_iou_counts_what_keras_counts():
    history = mean_iou_histories()
    for prefix in ("", "val_"):
        assert np.allclose(history[f"{prefix}mean_iou"], history[f"{prefix}keras_iou"])
    assert history.mean_iou.nunique() > 1  # not a constant that would match by chance


JAX_SCRIPT = """
import dataclasses, sys, threading, numpy as np, keras
sys.path.insert(0, "scripts")
from snakevision.training import trainer
from snakevision.models import segmentation
assert keras.backend.backend() == "jax"


class Probe(keras.callbacks.Callback):
    # Where Keras runs batch hooks: off the main thread unless a callback forces a device sync.

    async_safe = True
    threads = set()

    def on_train_batch_end(self, batch, logs=None):
        self.threads.add(threading.current_thread() is threading.main_thread())


fit = keras.Model.fit
keras.Model.fit = lambda self, *a, callbacks=(), **k: fit(
    self, *a, callbacks=[*callbacks, Probe()], **k
)
rng = np.random.default_rng(0)
x = rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8)
y = rng.integers(0, 3, (16, 32, 32, 1), dtype=np.uint8)
s = trainer.Settings(epochs=2, batch_size=8, optimizer="sgd", learning_rate=0.01,
                      precision="float32")
out = sys.argv[1]
task = trainer.OBJECTIVES["segmentation"]
h = trainer.fit(lambda: segmentation.book(32, 3), task, s, (x, y), (x, y),
                 out + "/model.keras", out + "/history.csv", out + "/state", out + "/board")
print("epochs", h.epoch.tolist())
import pathlib
events = pathlib.Path(out, "board").rglob("events.out.tfevents.*")
print("tensorboard events in", sorted({e.parent.name for e in events}))
s2 = dataclasses.replace(s, micro_batches=2)
h2 = trainer.fit(lambda: segmentation.book(32, 3), task, s2, (x, y), (x, y),
                  out + "/model2.keras", out + "/history2.csv", out + "/state2")
print("micro-batches train alike", np.allclose(h.val_loss, h2.val_loss, rtol=1e-4))
print("batch hooks on the main thread", sorted(Probe.threads))
sys.path.insert(0, "tests")
from test_training import mean_iou_histories
h = mean_iou_histories()
print("mean_iou as Keras counts", np.allclose(h.val_mean_iou, h.val_keras_iou))
"""


def test_the_same_training_code_runs_on_jax(tmp_path):
    """Training runs on JAX, TensorBoard's events included, and its callbacks (TensorBoard's
    too) let Keras dispatch steps without waiting."""
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(tmp_path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "epochs [1, 2]" in result.stdout
    assert "tensorboard events in ['train', 'validation']" in result.stdout
    assert "micro-batches train alike True" in result.stdout
    assert "batch hooks on the main thread [False]" in result.stdout
    assert "mean_iou as Keras counts True" in result.stdout
    assert "the JAX backend runs on a CPU here, where it trains" in result.stderr  # no GPU here
    assert (tmp_path / "model.keras").exists()
