"""Files config names that are not what their key wants stop snakemake before any job, naming
the key, where it was set and the fix, and leave the previous run's outputs as they were; a
--configfile given with a profile goes over the profile's settings file instead of replacing it."""

from __future__ import annotations

import json
import os
import re

import pytest
from workflow import copy_workflow, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow

# A finished run's Grad-CAM maps of the ImageNet Xception: the job a bad weights file fails
# (after loading TensorFlow, 20 s in) and whose outputs Snakemake deletes as it fails.
PREVIOUS = "results/interpretation/gradcam/xception_imagenet/elephant/heatmap.png"


def test_bad_files_stop_the_run_before_any_job(tmp_path) -> None:
    workdir = copy_workflow(tmp_path / "wf")
    previous = workdir / PREVIOUS
    previous.parent.mkdir(parents=True)
    previous.write_bytes(b"previous heatmap")
    os.utime(previous, (1e9, 1e9))
    (workdir / "weights.h5").write_text("these are my notes, not weights\n")
    classes = {str(i): [f"n{i:08d}", f"class {i}"] for i in range(3)}
    (workdir / "classes.json").write_text(json.dumps(classes))
    (workdir / "rex.jpg").write_text("shopping list\n")
    write_config(
        workdir / "mine.yaml",
        {"interpretation": {"imagenet": {"weights": "weights.h5"}}},
    )
    # Targets first: --configfile and --config take every word after them.
    args = [
        PREVIOUS.rsplit("/", 2)[0],
        "--cores",
        "1",
        "--configfile",
        "mine.yaml",
        "--config",
        "interpretation={imagenet: {class_index: classes.json}}",
        "predict={images: [rex.jpg]}",
    ]
    for dry in (["--dry-run"], []):
        result = snakemake(workdir, *args[:3], *dry, *args[3:], check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "invalid configuration (3 problem(s))" in output, output[-3000:]
        assert "interpretation.imagenet.weights: 'weights.h5' is not an HDF5 weights file" in output
        assert "interpretation.imagenet.class_index: 'classes.json' has 3 entries" in output
        assert "predict.images[0] ('rex.jpg'): it is no picture: it holds text" in output
        assert (
            "Where to fix: interpretation.imagenet.weights in --configfile "
            "mine.yaml; interpretation.imagenet.class_index, predict.images[0] in --config."
        ) in output
        assert "Job stats" not in output  # nothing was planned
    assert previous.read_bytes() == b"previous heatmap"
    assert previous.stat().st_mtime == 1e9
    assert not (workdir / "logs").exists() and not (workdir / "resources").exists()


# A --configfile given with a profile: Snakemake replaces the profile's configfiles list with it,
# and the Snakefile merges the profile's settings file back in under it.
MINE = {"segmentation": {"train": {"book": {"seeds": [7]}}}, "predict": {"images": []}}
KEPT = "Profile demo: its settings (profiles/demo/demo.yaml) are kept under the --configfile"


def trainings(output: str) -> set[tuple[str, int]]:
    """(model, seed) of every training a dry run plans."""
    found = re.findall(
        r"^rule train:\n(?:    .*\n)*?    wildcards: task=\w+, run=(\w+), seed=(\d+)",
        output,
        flags=re.M,
    )
    return {(model, int(seed)) for model, seed in found}


@pytest.fixture(scope="module")
def mine(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("wf"))
    write_config(workdir / "mine.yaml", MINE)
    return workdir


def test_a_configfile_given_with_the_demo_profile_goes_over_the_demos_settings(mine) -> None:
    result = snakemake(mine, "--profile", "profiles/demo", "--dry-run", "--configfile", "mine.yaml")
    jobs = planned_jobs(result.stdout)
    assert KEPT in result.stderr
    # The demo's synthetic data, not the real run's downloads.
    assert jobs["synthesize"] == 1 and "download" not in jobs, jobs
    # The user's file wins over the demo's settings: one seed of the book's model, no photo;
    # the demo's two U-Net seeds stay.
    assert trainings(result.stdout) == {
        ("book", 7),
        ("unet", 1337),
        ("unet", 1),
        ("convnet", 1337),
        ("mini_xception", 1337),
    }
    assert "predict" not in jobs
    # A file that names the profile does the same without --profile.
    write_config(mine / "demo_mine.yaml", {**MINE, "profile": "demo"})
    result = snakemake(mine, "--cores", "1", "--dry-run", "--configfile", "demo_mine.yaml")
    assert KEPT in result.stderr and "download" not in planned_jobs(result.stdout)


def test_a_configfile_without_a_profile_builds_on_config_yaml_alone(mine) -> None:
    result = snakemake(mine, "--cores", "1", "--dry-run", "--configfile", "mine.yaml")
    assert "Profile" not in result.stderr
    assert planned_jobs(result.stdout)["download"] == 2
    assert trainings(result.stdout) == {
        ("book", 7),
        ("unet", 1337),
        ("convnet", 1337),
        ("mini_xception", 1337),
    }


def test_the_demo_profile_with_both_configfile_and_config_is_the_full_run(mine) -> None:
    # The hole the README names beside the demo's command: given both, the command line
    # replaces both of the profile's lists, and nothing names the demo any more.
    args = ["--profile", "profiles/demo", "--dry-run", "--configfile", "mine.yaml"]
    result = snakemake(mine, *args, "--config", "overview={seed: 3}")
    assert KEPT not in result.stderr
    assert planned_jobs(result.stdout)["download"] == 2
