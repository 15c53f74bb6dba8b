"""The cluster profile on a real single-node SLURM (started by tests/slurm/start.sh in CI)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from workflow import copy_workflow, snakemake, write_config

pytestmark = pytest.mark.workflow

TINY = {
    "dataset": {
        "source": "synthetic",
        "synthetic": {"images_per_breed": 3, "min_side": 48, "max_side": 64},
    },
    "split": {
        "segmentation": {"num_val": 10},
        "classification": {"train": 5, "val": 3, "test": 3},
    },
}


def slurm_is_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return state.returncode == 0 and "idle" in state.stdout


@pytest.mark.skipif(not slurm_is_up(), reason="no SLURM here: run tests/slurm/start.sh as root")
def test_the_slurm_profile_runs_jobs_on_the_cluster(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    write_config(workdir / "tiny.yaml", TINY)
    targets = ["results/data/split.csv", "results/classification/summaries/residual_demo.txt"]
    result = snakemake(
        workdir,
        "--profile=profiles/slurm",
        "--configfile=tiny.yaml",
        # This test cluster has one partition, 'debug'; sites set theirs in the profile.
        "--default-resources=slurm_partition=debug",
        "--slurm-init-seconds-before-status-checks=2",
        "--max-threads=2",  # the test node has 2 CPUs; the rules ask for up to 8
        *targets,
    )
    assert all((workdir / t).is_file() for t in targets)
    output = result.stdout + result.stderr
    # The data rules ran as SLURM jobs; the archive generator is not a local rule.
    assert "Job" in output and "has been submitted with SLURM jobid" in output, output[-3000:]
    summary = (workdir / targets[1]).read_text()
    assert "params total=297697" in summary
