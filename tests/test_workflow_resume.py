"""Interrupted training resumes, kept states serve other settings, a bad config stops early."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import time

import keras
import numpy as np
import pandas as pd
import pytest
from snakevision.job.logfile import last_attempt
from workflow import SNAKEMAKE, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.workflow

TINY = {
    "dataset": {
        "source": "synthetic",
        "synthetic": {"images_per_breed": 4, "min_side": 48, "max_side": 72},
    },
    "split": {
        "segmentation": {"num_val": 16},
        "classification": {"train": 16, "val": 5, "test": 5},  # the default batch of 32 fits
    },
    "segmentation": {
        "image_size": 32,
        "train": {"book": {"epochs": 8, "batch_size": 16, "precision": "float32"}},
    },
}


RUN = "results/segmentation/book/seed_1337"
ARGS = ["--cores", "2", "--configfile=tiny.yaml"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A copy of the workflow with TINY's segmentation arrays built, for each test to copy."""
    workdir = copy_workflow(tmp_path_factory.mktemp("prepared") / "wf")
    write_config(workdir / "tiny.yaml", TINY)
    snakemake(workdir, *ARGS, "results/data/segmentation/val_masks.npy")
    return workdir


def tiny(workdir, **book):
    """Write tiny.yaml: TINY with these settings of the book model's training."""
    config = copy.deepcopy(TINY)
    config["segmentation"]["train"]["book"].update(book)
    write_config(workdir / "tiny.yaml", config)


def trained_epochs(result):
    """The epochs a train job trained, from the console (one line each, never for replays)."""
    pattern = r"^\[train segmentation/book/seed_1337\] epoch (\d+)/\d+: .*$"
    return re.findall(pattern, result.stderr, re.MULTILINE)


def test_killed_training_resumes_at_the_last_finished_epoch(prepared, tmp_path):
    workdir = shutil.copytree(prepared, tmp_path / "wf", symlinks=True)
    args = ARGS
    states = workdir / "results/segmentation/book/seed_1337/.train_state"
    job = subprocess.Popen(
        [*SNAKEMAKE, *args, "results/segmentation/book/seed_1337/model.keras"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        found = list(states.glob("*/history.csv"))
        if found and len(pd.read_csv(found[0])) >= 3:
            break
        time.sleep(0.1)
    assert job.poll() is None, "training finished before it could be interrupted"
    os.killpg(job.pid, signal.SIGKILL)  # as a cluster's time limit or a power cut would
    job.wait()
    (state,) = states.glob("*/history.csv")
    before = pd.read_csv(state)
    finished = len(before)
    assert not (workdir / "results/segmentation/book/seed_1337/history.csv").exists()

    snakemake(workdir, "--unlock", *args)
    snakemake(workdir, *args, "results/segmentation/book/seed_1337/model.keras")

    # The killed attempt's log comes first, then the rerun's.
    log = last_attempt((workdir / "logs/segmentation/train_book_seed_1337.log").read_text())
    resumed = [int(n) for n in re.findall(r"resuming from epoch (\d+)", log)]
    assert resumed, log[-3000:]
    # The last recorded epoch, or the one after it when its backup was written too.
    assert resumed[0] in (finished, finished + 1)
    history = pd.read_csv(workdir / "results/segmentation/book/seed_1337/history.csv")
    assert history.epoch.tolist() == list(range(1, 9))
    kept = resumed[0] - 1
    pd.testing.assert_frame_equal(history.iloc[:kept], before.iloc[:kept])
    assert "nothing to resume" not in log  # the rerun did not start over
    assert all(f"epoch {n}/8:" in log for n in range(1, 9))  # the killed job's epochs replayed
    assert json.loads((states / "current.json").read_text()) == {
        "state": state.parent.name,
        "epochs": 8,
    }


def run_outputs(workdir):
    """The train job's outputs: history.csv and model.keras's bytes."""
    return pd.read_csv(workdir / RUN / "history.csv"), (workdir / RUN / "model.keras").read_bytes()


def test_epochs_6_then_8_then_6_then_8_train_8_epochs_in_all(prepared, tmp_path):
    """Each setting's state is kept: going back serves it, nothing is trained twice."""
    workdir = shutil.copytree(prepared, tmp_path / "wf", symlinks=True)
    straight = shutil.copytree(prepared, tmp_path / "straight", symlinks=True)
    target = f"{RUN}/model.keras"
    results, outputs = [], []
    for epochs in (6, 8, 6, 8):
        tiny(workdir, epochs=epochs)
        results.append(snakemake(workdir, *ARGS, target))
        outputs.append(run_outputs(workdir))
    trained = [[int(e) for e in trained_epochs(result)] for result in results]
    assert trained == [[1, 2, 3, 4, 5, 6], [7, 8], [], []]  # 8 epochs in all, not 20
    served = "outputs written from it, nothing trained; to train afresh, delete that folder"
    log = (workdir / "logs/segmentation/train_book_seed_1337.log").read_text()
    assert "all 8 epochs were trained before (state in " in log and served in log
    assert "[train segmentation/book/seed_1337] all 8 epochs were trained before" in (
        results[3].stderr
    )
    # The console's epoch lines: the headline metric and the time left.
    shown = re.findall(
        r"^\[train segmentation/book/seed_1337\] (epoch .*)$", results[0].stderr, re.M
    )
    assert len(shown) == 6, results[0].stderr[-3000:]
    for line in shown[:-1]:
        assert re.fullmatch(
            r"epoch \d/6: val mean IoU \d\.\d{3} \(best \d\.\d{3}\), \d+\.\d s/epoch, "
            r"about \d+ (s|min) left",
            line,
        ), line
    assert shown[-1].endswith(" s/epoch, done")
    # Going back serves each setting's outputs as they were.
    for before, after in ((0, 2), (1, 3)):
        pd.testing.assert_frame_equal(outputs[after][0], outputs[before][0])
        assert outputs[after][1] == outputs[before][1]
    assert len([p for p in (workdir / RUN / ".train_state").iterdir() if p.is_dir()]) == 1
    # ...and those of a straight 8-epoch training.
    tiny(straight, epochs=8)
    assert [int(e) for e in trained_epochs(snakemake(straight, *ARGS, target))] == list(range(1, 9))
    history, _ = run_outputs(straight)
    learned = [c for c in history.columns if "loss" in c or "acc" in c or "iou" in c]
    pd.testing.assert_frame_equal(outputs[3][0][learned], history[learned])
    model = keras.models.load_model(workdir / target)
    for a, b in zip(model.weights, keras.models.load_model(straight / target).weights):
        assert np.array_equal(a, b), a.path


def test_patience_stops_early_and_metrics_json_says_where(prepared, tmp_path):
    workdir = shutil.copytree(prepared, tmp_path / "wf", symlinks=True)
    tiny(workdir, epochs=20, patience=1)
    result = snakemake(workdir, *ARGS, f"{RUN}/metrics.json")
    history = pd.read_csv(workdir / RUN / "history.csv")
    stop = len(history)
    assert 2 <= stop < 20, history
    record = json.loads((workdir / RUN / "metrics.json").read_text())["training"]
    assert record == {
        "epochs": 20,
        "epochs_trained": stop,
        "best_epoch": stop - 1,  # patience 1: the epoch before the one that did not improve
        "stopped_early": True,
        "patience": 1,
        "monitor": "val_loss",
    }
    assert history.val_loss.iloc[-1] >= history.val_loss.iloc[:-1].min()
    assert [int(e) for e in trained_epochs(result)] == list(range(1, stop + 1))
    assert re.search(r"epoch 1/20: .* s/epoch, at most \d+ (s|min) left$", result.stderr, re.M)
    assert f"epoch {stop}/20: " in result.stderr
    assert "stopping early: val_loss has not improved for 1 epochs" in result.stderr
    # More epochs: the stop was met before, so nothing is trained; metrics.json says so again.
    tiny(workdir, epochs=30, patience=1)
    result = snakemake(workdir, *ARGS, f"{RUN}/metrics.json")
    assert trained_epochs(result) == []
    assert f"training stopped early at epoch {stop} of 30" in result.stderr
    record = json.loads((workdir / RUN / "metrics.json").read_text())["training"]
    assert (record["epochs"], record["epochs_trained"], record["stopped_early"]) == (30, stop, True)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"keras_backend": "torch"}, ["keras_backend", "allowed values", "tensorflow", "jax"]),
        ({"overview": {"num_samples": -1}}, ["overview.num_samples", "minimum of 1"]),
        ({"dataset": {"sorce": "synthetic"}}, ["dataset", "sorce", "allowed keys", "source"]),
    ],
)
def test_invalid_config_stops_before_any_job(tmp_path, override, named):
    workdir = copy_workflow(tmp_path / "wf")
    write_config(workdir / "bad.yaml", override)
    result = snakemake(workdir, "--cores", "1", "--configfile=bad.yaml", check=False)
    assert result.returncode != 0
    for word in named:
        assert word in result.stderr, result.stderr[-2000:]
    assert not (workdir / "resources").exists() and not (workdir / "results").exists()
