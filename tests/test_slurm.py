"""The cluster profile: its dry-run plan (no SLURM needed), and a run on a real single-node
SLURM (started by tests/slurm/start.sh in CI)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
from workflow import REPO, copy_workflow, snakemake, write_config

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


SLURM = ["--profile", "profiles/slurm"]
# The full run's plan (the book's settings, the ImageNet Xception's branch included) and the
# demo's: between them every rule of the workflow is planned.
PLANS = {"full": [], "demo": ["--configfile", "profiles/demo/demo.yaml"]}


def planned_resources(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a dry run lists."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        if rule := re.match(r"(?:local)?rule (\w+):", block):
            line = re.search(r"^    resources: (.*)$", block, flags=re.M)
            items = line[1].split(", ") if line else []
            jobs.append((rule[1], dict(item.split("=", 1) for item in items)))
    return jobs


def asks_for_a_gpu(resources: dict[str, str]) -> bool:
    return int(resources.get("gpu", 0)) > 0


def rules_asking_for_gpus() -> set[str]:
    """Rules whose resources ask for a GPU, read from the rule files."""
    found = set()
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^(?:local)?rule ", smk.read_text(), flags=re.M)[1:]:
            if re.search(r"^    resources:\n(?:        .*\n)*?        gpu=[1-9]", block, re.M):
                found.add(block.split(":")[0])
    return found


def cpu_only_recipe() -> list[str]:
    """The README's --set-resources for clusters without GPUs, as a user would copy it."""
    recipes = re.findall(r"`(--set-resources [^`]*gpu=0[^`]*)`", (REPO / "README.md").read_text())
    assert len(recipes) == 1, recipes
    return shlex.split(recipes[0])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("slurm_plan"))


@pytest.mark.parametrize("plan", PLANS)
def test_every_job_that_asks_for_a_gpu_goes_to_the_gpu_partition(workdir, plan):
    jobs = planned_resources(snakemake(workdir, *SLURM, *PLANS[plan], "--dry-run").stdout)
    assert len(jobs) > 20
    gpu_rules = {rule for rule, resources in jobs if asks_for_a_gpu(resources)}
    assert {"train", "filters"} <= gpu_rules
    for rule, resources in jobs:
        wanted = "gpu" if asks_for_a_gpu(resources) else "cpu"
        assert resources.get("slurm_partition") == wanted, (rule, resources)


def test_the_plans_cover_every_rule_that_asks_for_a_gpu(workdir):
    # So that a future rule asking for gpu=1 meets the checks above.
    planned = set()
    for args in PLANS.values():
        jobs = planned_resources(snakemake(workdir, *SLURM, *args, "--dry-run").stdout)
        planned |= {rule for rule, resources in jobs if asks_for_a_gpu(resources)}
    assert rules_asking_for_gpus() == planned != set()


@pytest.mark.parametrize("plan", PLANS)
def test_the_readmes_recipe_for_clusters_without_gpus_asks_for_none(workdir, plan):
    # Options that take lists go last.
    args = [*SLURM, "--dry-run", *PLANS[plan], *cpu_only_recipe()]
    jobs = planned_resources(snakemake(workdir, *args).stdout)
    assert len(jobs) > 20
    for rule, resources in jobs:
        assert not asks_for_a_gpu(resources), (rule, resources)
        assert resources.get("slurm_partition") == "cpu", (rule, resources)
