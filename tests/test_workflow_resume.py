"""Interrupted training resumes, and a bad config stops before any job runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pandas as pd
import pytest
from snakevision.logfile import last_attempt
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


def test_killed_training_resumes_at_the_last_finished_epoch(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    write_config(workdir / "tiny.yaml", TINY)
    args = ["--cores", "2", "--configfile=tiny.yaml"]
    snakemake(workdir, *args, "results/data/segmentation/val_masks.npy")

    state = workdir / "results/segmentation/book/seed_1337/.train_state/history.csv"
    job = subprocess.Popen(
        [*SNAKEMAKE, *args, "results/segmentation/book/seed_1337/model.keras"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        if state.exists() and len(pd.read_csv(state)) >= 3:
            break
        time.sleep(0.1)
    assert job.poll() is None, "training finished before it could be interrupted"
    os.killpg(job.pid, signal.SIGKILL)  # as a cluster's time limit or a power cut would
    job.wait()
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
    assert (state.parent / "completed.json").exists()


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
