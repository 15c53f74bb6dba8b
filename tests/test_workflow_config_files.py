"""Files config names that are not what their key wants stop snakemake before any job, naming
the key, where it was set and the fix, and leave the previous run's outputs as they were."""

from __future__ import annotations

import json
import os

import pytest
from workflow import copy_workflow, snakemake, write_config

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
