"""A training state: the epoch log, the checkpoints and the identity, a killed job resumed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import keras
import numpy as np
import pandas as pd
from snakevision.job.logfile import last_attempt
from snakevision.models import classification, segmentation
from snakevision.training import checkpoints as saving
from snakevision.training import epoch_log, identity
from test_training import SIZE, tiny_data


def test_epoch_log_drops_rows_past_the_resumed_epoch(tmp_path):
    path = tmp_path / "history.csv"
    pd.DataFrame({"epoch": [1, 2, 3], "val_loss": [0.9, 0.7, 0.5]}).to_csv(path, index=False)
    log = epoch_log.EpochLog(path, num_images=10, policy="float32")
    assert (log.best_val_loss(3), log.best_val_loss(2), log.best_val_loss(0)) == (0.5, 0.7, None)
    pd.DataFrame({"epoch": [1, 2], "val_loss": [np.nan, 0.7]}).to_csv(path, index=False)
    assert epoch_log.EpochLog(path, 10, "float32").best_val_loss(2) == 0.7  # NaN is not the best
    log.set_params({"epochs": 5})
    log.on_epoch_begin(2)  # the resume state had two finished epochs: epoch 3 is redone
    assert [r["epoch"] for r in log.rows] == [1, 2]


def test_checkpoints_restore_weights_and_optimizer_and_ignore_a_cut_write(tmp_path):
    images, masks = tiny_data(n=16)

    def compiled():
        keras.utils.set_random_seed(0)
        model = segmentation.book(SIZE, 3)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    model = compiled()
    model.fit(
        images,
        masks,
        batch_size=8,
        epochs=2,
        validation_data=(images, masks),
        callbacks=[saving.Checkpoints(tmp_path)],
        verbose=0,
    )
    *bests, state = sorted(p.name for p in tmp_path.iterdir())
    # Every best model so far stays (one per lower val_loss); of the resume points the latest.
    assert bests in (["best-0001.keras"], ["best-0001.keras", "best-0002.keras"])
    assert state == "epoch-0002.weights.h5"
    (tmp_path / ".tmp-epoch-0003.weights.h5").write_bytes(b"\x89HDF")  # a write cut short
    fresh = compiled()
    assert saving.Checkpoints(tmp_path).restore(fresh) == 2
    assert int(fresh.optimizer.iterations) == 4
    for a, b in zip(
        model.weights + model.optimizer.variables, fresh.weights + fresh.optimizer.variables
    ):
        assert np.array_equal(a, b), a.path
    assert saving.Checkpoints(tmp_path / "none").restore(compiled()) == 0


def called_by_hand(folder):
    """Checkpoints on a compiled model with its optimizer built, called as fit would call it."""
    model = segmentation.book(SIZE, 3)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    checkpoints = saving.Checkpoints(folder)
    checkpoints.set_model(model)
    return checkpoints


def test_a_diverged_epoch_is_never_the_best(tmp_path):
    checkpoints = called_by_hand(tmp_path)
    checkpoints.on_epoch_end(0, {"val_loss": float("nan")})
    assert checkpoints.best is None and checkpoints.finished() == 1
    checkpoints.on_epoch_end(1, {"val_loss": 2.0})
    checkpoints.on_epoch_end(2, {"val_loss": float("nan")})
    assert checkpoints.best_val_loss == 2.0 and checkpoints.finished() == 3
    assert checkpoints.best == tmp_path / "best-0002.keras"


def test_a_best_model_newer_than_the_resume_state_is_dropped(tmp_path):
    """A job killed between writing an epoch's best model and its resume state."""
    checkpoints = called_by_hand(tmp_path)
    checkpoints.on_epoch_end(0, {"val_loss": 2.0})
    # A best model is the model alone: its weights, no optimizer state (a third of adam's).
    best = keras.models.load_model(tmp_path / "best-0001.keras")
    assert not best.compiled
    for a, b in zip(best.weights, checkpoints.model.weights, strict=True):
        assert a.path == b.path and np.array_equal(a, b)
    resume_point = (tmp_path / "epoch-0001.weights.h5").stat().st_size
    assert (tmp_path / "best-0001.keras").stat().st_size < resume_point / 2.5
    checkpoints.on_epoch_end(1, {"val_loss": 1.0})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best-0001.keras",
        "best-0002.keras",
        "epoch-0002.weights.h5",
    ]
    assert checkpoints.best_until(1) == tmp_path / "best-0001.keras"  # what 1 epoch is served
    (tmp_path / "best-0003.keras").write_bytes((tmp_path / "best-0002.keras").read_bytes())
    rerun = saving.Checkpoints(tmp_path)
    assert rerun.restore(checkpoints.model) == 2  # epoch 3 is trained again, its best model with it
    assert rerun.best == tmp_path / "best-0002.keras"
    assert not (tmp_path / "best-0003.keras").exists()


def test_the_identity_tells_architectures_apart_whatever_their_layer_names():
    def model(rate):
        inputs = keras.Input((8, 8, 3))
        x = keras.layers.Dropout(rate)(keras.layers.Conv2D(4, 3)(inputs))
        return keras.Model(inputs, x, name="same")

    assert identity.architecture(model(0.5)) == identity.architecture(model(0.5))
    assert identity.architecture(model(0.5)) != identity.architecture(model(0.1))


def test_checkpoints_keep_the_seed_states_keras_leaves_out_of_weights(tmp_path, caplog):
    def compiled():
        model = classification.convnet(80)
        model.compile("adam", "binary_crossentropy")
        model.optimizer.build(model.trainable_variables)
        return model

    model = compiled()
    states = [v for v in model.variables if "seed_generator_state" in v.path]
    assert len(states) == 4 and not any(s.path in {w.path for w in model.weights} for s in states)
    for i, state in enumerate(states):
        state.assign([i + 10, i + 20])
    checkpoints = saving.Checkpoints(tmp_path)
    checkpoints.set_model(model)
    checkpoints.on_epoch_end(0, {"val_loss": 0.5})
    fresh = compiled()
    assert saving.Checkpoints(tmp_path).restore(fresh) == 1
    restored = [v for v in fresh.variables if "seed_generator_state" in v.path]
    assert [keras.ops.convert_to_numpy(v).tolist() for v in restored] == [
        [i + 10, i + 20] for i in range(4)
    ]


# A rule's job as the train rule runs it: job.start logs to the rule's log file, then fit.
# Reads of the training images are slowed so that an epoch takes over a second.
TRAINING_JOB = """
import sys, time
from types import SimpleNamespace
sys.path.insert(0, "scripts")
from snakevision.job.setup import start

out = sys.argv[1]
start(SimpleNamespace(
    input=[], output=[], params=SimpleNamespace(), wildcards={}, config={}, threads=1,
    log=[out + "/train.log"], rule="train",
))
import numpy as np
from snakevision.training import trainer
from snakevision.models import segmentation


class Slow:
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        time.sleep(0.3)
        return self.rows[index]


rng = np.random.default_rng(0)
images = rng.integers(0, 255, (24, 32, 32, 3), dtype=np.uint8)
masks = rng.integers(0, 3, (24, 32, 32, 1), dtype=np.uint8)
trainer.fit(
    lambda: segmentation.book(32, 3),
    trainer.OBJECTIVES["segmentation"],
    trainer.Settings(epochs=4, batch_size=8, precision="float32", optimizer="adam"),
    (Slow(images), masks),
    (images[:8], masks[:8]),
    out + "/model.keras",
    out + "/history.csv",
    out + "/state",
)
"""


def test_an_epoch_logged_is_an_epoch_kept(tmp_path):
    """A job killed right after an epoch's log line resumes after that epoch, its log whole."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-c", TRAINING_JOB, str(tmp_path)]
    log = tmp_path / "train.log"
    job = subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while job.poll() is None and time.monotonic() < deadline:
        if log.exists() and "epoch 2/4:" in log.read_text():
            break
        time.sleep(0.01)
    assert job.poll() is None, job.stderr.read()[-3000:]
    job.kill()  # SIGKILL, as a cluster's time limit would
    job.wait()
    job.stderr.close()
    first = log.read_text()
    assert "nothing to resume: starting at epoch 1 (no state for these settings in " in first
    assert "epoch 3/4:" not in first
    (state,) = (tmp_path / "state").iterdir()
    assert pd.read_csv(state / "history.csv").epoch.tolist() == [1, 2]

    log.unlink()  # Snakemake deletes a job's log before it runs the job again
    rerun = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    second = last_attempt(log.read_text())  # the killed attempt's log comes first
    assert "resuming from epoch 3 of 4" in second and "nothing to resume" not in second
    logged = re.findall(
        r"epoch (\d)/4: .*images/s(?: \(logged (.*), before the resume\))?$", second, re.MULTILINE
    )
    assert [int(epoch) for epoch, _ in logged] == [1, 2, 3, 4]
    assert [bool(when) for _, when in logged] == [True, True, False, False]
    for epoch in (1, 2):  # the lines of the killed job, as it logged them
        line = re.search(rf"epoch {epoch}/4: .*images/s$", first, re.MULTILINE).group(0)
        assert f"{line} (logged " in second
    assert pd.read_csv(tmp_path / "history.csv").epoch.tolist() == [1, 2, 3, 4]
    # The console shows the epochs this job trained, not those replayed, each with the time left.
    console = rerun.stderr.splitlines()
    assert f"[train] resuming from epoch 3 of 4 (state in {state})" in console
    epochs = [line for line in console if re.match(r"\[train\] epoch \d/4: ", line)]
    assert len(epochs) == 2, rerun.stderr[-3000:]
    assert re.fullmatch(
        r"\[train\] epoch 3/4: val mean IoU \d\.\d{3} \(best \d\.\d{3}\), \d+\.\d s/epoch, "
        r"about \d+ s left",
        epochs[0],
    )
    assert re.fullmatch(r"\[train\] epoch 4/4: val mean IoU .*, \d+\.\d s/epoch, done", epochs[1])
