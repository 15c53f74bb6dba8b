"""The cluster profile on a real single-node SLURM (started by tests/slurm/start.sh in CI)."""

from __future__ import annotations

import re
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
        "classification": {"train": 16, "val": 3, "test": 3},  # the default batch of 32 fits
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
    # As the README asks of a site: its partitions in the profile (this cluster has 'debug').
    profile = workdir / "profiles/slurm/config.yaml"
    site = re.sub(r"slurm_partition: \w+", "slurm_partition: debug", profile.read_text())
    profile.write_text(site)
    targets = ["results/data/split.csv", "results/classification/summaries/residual_demo.txt"]
    result = snakemake(
        workdir,
        "--profile=profiles/slurm",
        "--configfile=tiny.yaml",
        "--slurm-status-command=squeue",  # this cluster keeps no accounting for sacct
        "--slurm-init-seconds-before-status-checks=2",
        "--max-threads=2",  # the test node has 2 CPUs; the rules ask for up to 8
        *targets,
    )
    assert all((workdir / t).is_file() for t in targets)
    output = result.stdout + result.stderr
    # The profile's defaults reach the jobs: memory and time limits, not SLURM's own.
    split = re.search(r"^rule split:\n(?:    .*\n)*?    resources: (.*)$", output, flags=re.M)
    assert split, output[-3000:]
    assert {"mem_mb=4000", "runtime=60", "slurm_partition=debug"} <= set(split[1].split(", "))
    # The data rules ran as SLURM jobs; the archive generator is not a local rule.
    assert "Job" in output and "has been submitted with SLURM jobid" in output, output[-3000:]
    summary = (workdir / targets[1]).read_text()
    assert "params total=297697" in summary
