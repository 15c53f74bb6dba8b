"""Early stopping from a history's rows: Keras's rule, what a state serves, the config key."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import yaml
from snakevision.config.check import ConfigError, check
from snakevision.config.schema import parse_nested_strings
from snakevision.training.stopping import best_epoch, record, served_epoch, stop_epoch

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config.schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
NAN = math.nan


def keras_stop(val_losses, patience):
    """Where Keras's EarlyStopping(val_loss, patience, min_delta 0) ends a fit of these epochs."""
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, mode="min")
    model = SimpleNamespace(stop_training=False)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, loss in enumerate(val_losses):
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            return epoch + 1
    return None


def test_the_stop_is_keras_early_stopping_on_val_loss():
    rng = np.random.default_rng(0)
    for _ in range(300):
        # Rounded, so that equal losses (no improvement) occur too.
        losses = np.round(rng.uniform(0.5, 1.0, rng.integers(1, 15)), 1).tolist()
        for patience in (1, 2, 3, 5):
            assert stop_epoch(losses, patience) == keras_stop(losses, patience), (losses, patience)
    # The one difference: Keras keeps a NaN of the first epoch as its best for good.
    assert keras_stop([NAN, 1.0, 1.1], 1) == 2 and stop_epoch([NAN, 1.0, 1.1], 1) == 3


@pytest.mark.parametrize(
    ("losses", "patience", "stop"),
    [
        ([1.0, 0.9, 0.8], None, None),  # no patience: the book's fixed epochs
        ([1.0, 0.9, 0.95, 0.97], 2, 4),
        ([1.0, 0.9, 0.95, 0.8, 0.85], 2, None),  # epoch 4 improved: the wait starts again
        ([1.0, 1.0], 1, 2),  # an equal val_loss is no improvement (min_delta 0)
        ([NAN], 1, None),  # never after the first epoch
        ([NAN, 1.0, 1.1], 1, 3),  # a diverged epoch never improves; Keras would stop at 2
    ],
)
def test_where_a_history_stops(losses, patience, stop):
    assert stop_epoch(losses, patience) == stop


def test_the_best_epoch_is_the_last_improvement():
    assert best_epoch([1.0, 0.8, 0.9, 0.8, NAN]) == 2
    assert best_epoch([NAN, NAN]) is None


@pytest.mark.parametrize(
    ("finished", "epochs", "patience", "served"),
    [
        (8, 6, None, 6),  # fewer epochs than the state has: served
        (6, 6, None, 6),  # the same epochs again: served
        (6, 8, None, None),  # more: trains on
        (8, 20, 2, 4),  # the state stopped early at 4: any later request stops there too
        (3, 20, 2, None),  # ...but a state of 3 epochs has not reached that stop yet
        (4, 20, 3, None),  # a larger patience goes on from the stop of a smaller one
        (8, 3, 2, 3),  # asked for 3: the stop at 4 comes too late
    ],
)
def test_what_a_state_serves(finished, epochs, patience, served):
    losses = [1.0, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]  # best at 2
    assert served_epoch(losses[:finished], finished, epochs, patience) == served


def test_the_record_says_where_the_training_stopped():
    assert record([1.0, 0.9, 1.1, 1.2], 20, 2) == {
        "epochs": 20,
        "epochs_trained": 4,
        "best_epoch": 2,
        "stopped_early": True,
        "patience": 2,
        "monitor": "val_loss",
    }
    assert record([1.0, 0.9], 2, None)["stopped_early"] is False


def test_every_train_section_has_patience_and_the_check_names_a_bad_one():
    for task in ("segmentation", "classification"):
        for section in DEFAULT[task]["train"].values():
            assert section["patience"] is None
    config = copy.deepcopy(DEFAULT)
    config["segmentation"]["train"]["book"]["patience"] = 0
    with pytest.raises(ConfigError, match="segmentation.train.book.patience: 0 is less than"):
        check(config, SCHEMA)
    # --config 'segmentation={train: {unet: {patience: 3}}}' gives a string, parsed as a file's.
    given = {"segmentation": {"train": {"unet": {"patience": "3"}}}}
    config = copy.deepcopy(DEFAULT)
    config["segmentation"]["train"]["unet"]["patience"] = "3"
    parse_nested_strings(config, SCHEMA, given)
    assert config["segmentation"]["train"]["unet"]["patience"] == 3
    check(config, SCHEMA)
