"""A killed training stops a local run, the cluster profile retries it once, every log is kept."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from snakevision.job.logfile import last_attempt
from workflow import SNAKEMAKE, copy_workflow, snakemake, write_config

pytestmark = pytest.mark.workflow

EPOCHS = 12  # ten epochs past the kill: time to find the training running
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
        "train": {"book": {"epochs": EPOCHS, "batch_size": 16, "precision": "float32"}},
    },
}
RUN = "results/segmentation/book/seed_1337"
LOG = "logs/segmentation/train_book_seed_1337.log"


def _training(snakemake_pid: int) -> psutil.Process | None:
    """The Python process of the train job that snakemake_pid runs (not its shell, its filter)."""
    for child in psutil.Process(snakemake_pid).children(recursive=True):
        try:
            args = child.cmdline()
        except psutil.Error:
            continue
        if args and Path(args[0]).name.startswith("python") and args[-1].endswith(".train.py"):
            return child
    return None


def _run_and_kill_the_training(workdir: Path, *args: str) -> tuple[int, str]:
    """Run snakemake; kill its training's process (only it) after two epochs of this attempt.

    Returns snakemake's exit status and output.
    """
    log = workdir / LOG
    run = subprocess.Popen(
        [*SNAKEMAKE, *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and run.poll() is None:
            attempt = last_attempt(log.read_text()) if log.exists() else ""
            training = _training(run.pid)
            # An epoch's full log line (the console's line is logged too, without images/s).
            trained = re.findall(rf"epoch \d+/{EPOCHS}: .*images/s$", attempt, re.MULTILINE)
            if training and len(trained) >= 2:
                training.kill()  # SIGKILL: as a user's kill -9, or the kernel out of memory
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the training ended before it could be killed")
        output, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
    return run.returncode, output


def test_a_killed_training_stops_a_local_run_and_the_cluster_profile_retries_it(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    write_config(workdir / "tiny.yaml", TINY)
    target = f"{RUN}/model.keras"
    local = [target, "--cores", "2", "--configfile=tiny.yaml"]
    snakemake(workdir, *local[1:], "results/data/segmentation/val_masks.npy")

    # On the user's own machine a kill is the user's: the run stops, no retry.
    status, output = _run_and_kill_the_training(workdir, *local)
    assert status != 0, output[-3000:]
    assert "Trying to restart" not in output, output[-3000:]
    assert "Error in rule train" in output
    killed = (workdir / LOG).read_text()
    assert re.search(rf"epoch 2/{EPOCHS}:", killed)
    assert not (workdir / RUN / "history.csv").exists()

    # The cluster profile's settings (run here with the local executor): the killed job is
    # tried once more, which resumes; the run succeeds.
    cluster = [*local, "--profile=profiles/slurm", "--executor=local"]
    status, output = _run_and_kill_the_training(workdir, *cluster)
    assert status == 0, output[-3000:]
    assert output.count("Trying to restart job") == 1, output[-3000:]
    log = (workdir / LOG).read_text()
    # Every attempt's log, in order: the local run's killed one, the cluster run's killed one,
    # and its retry, which resumed.
    headers = re.findall(r"^==== attempt (\d+) of this job", log, flags=re.MULTILINE)
    assert headers == ["1", "2", "3"], log[-3000:]
    assert log.startswith("==== attempt 1 of this job (its log as it was) ====\n" + killed)
    assert "resuming from epoch" in last_attempt(log)
    history = pd.read_csv(workdir / RUN / "history.csv")
    assert history.epoch.tolist() == list(range(1, EPOCHS + 1))
    # It succeeded: the next run's log starts afresh.
    assert not (workdir / "logs/segmentation/.train_book_seed_1337.log.attempts").exists()
