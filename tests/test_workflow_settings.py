"""Settings the models or the data cannot take stop before any job, or before training, once."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from test_workflow_download import download_config
from workflow import copy_workflow, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow

DEMO = ["--profile", "profiles/demo"]
# A finished run's outputs, which a refused run must leave as they are.
PREVIOUS = [
    "results/segmentation/book/seed_1337/model.keras",
    "results/segmentation/unet/seed_1337/history.csv",
    "results/classification/summaries/convnet.txt",
    "results/data/segmentation/train_images.npy",
]

# The reproductions in a finished demo: target, --config, what the refusal names.
REPRODUCTIONS = {
    "segmentation size": (
        "results/segmentation/book/seed_1337/history.csv",
        "segmentation={image_size: 52}",
        ["segmentation.image_size (52)", "model book and unet", "a multiple of 8"],
    ),
    "convnet size": (
        "results/classification/summaries/convnet.txt",
        "classification={image_size: 40}",
        ["classification.image_size (40)", "model convnet", "model_summaries", "at least 78 px"],
    ),
    "batch larger than the split": (
        "results/segmentation/unet/seed_1337/history.csv",
        "segmentation={train: {unet: {batch_size: 10000, epochs: 1}}}",
        ["segmentation.train.unet.batch_size (10000)", "exceeds the 643 images", "allowed: 1..643"],
    ),
}


@pytest.mark.parametrize("case", REPRODUCTIONS)
def test_a_setting_the_models_cannot_take_stops_before_any_job(tmp_path, case):
    target, setting, named = REPRODUCTIONS[case]
    workdir = copy_workflow(tmp_path / "wf")
    for i, path in enumerate(PREVIOUS):
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).write_text(f"previous output {i}")
        os.utime(workdir / path, (1e9, 1e9))
    for dry in (["--dry-run"], []):
        # Targets first: --config takes every word after it.
        result = snakemake(workdir, target, *DEMO, *dry, "--config", setting, check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        for words in named:
            assert words in output, output[-3000:]
        assert "Job stats" not in output  # nothing was planned
    for i, path in enumerate(PREVIOUS):
        assert (workdir / path).read_text() == f"previous output {i}"
        assert (workdir / path).stat().st_mtime == 1e9
    assert not (workdir / "logs").exists() and not (workdir / "resources").exists()


def test_a_batch_larger_than_the_real_split_fails_once_before_training(
    tmp_path, dataset, http_server
):
    # Downloaded archives: the config check knows only the official archives' 7,390 images as a
    # bound; the index finds 110 usable here, so 100 train after num_val.
    config = download_config(http_server, dataset)
    config["segmentation"] = {"image_size": 32, "train": {"book": {"batch_size": 101, "epochs": 1}}}
    workdir = copy_workflow(tmp_path / "wf")
    write_config(workdir / "net.yaml", config)
    target = "results/segmentation/book/seed_1337/model.keras"
    args = [target, "--cores", "1", "--configfile=net.yaml"]
    result = snakemake(workdir, *args, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert output.count("Error in rule check_batch_size") == 1, output[-3000:]
    assert "Trying to restart job" not in output  # training's retry is for killed jobs
    log = (workdir / "logs/segmentation/check_batch_size_book.log").read_text()
    assert (
        "segmentation.train.book.batch_size (101) exceeds the 100 images it trains on "
        "(the train rows of results/data/segmentation/split.csv); allowed: 1..100"
    ) in log
    # Training never started.
    assert not (workdir / "logs/segmentation/train_book_seed_1337.log").exists()

    config["segmentation"]["train"]["book"]["batch_size"] = 100  # the whole split: fits
    write_config(workdir / "net.yaml", config)
    jobs = planned_jobs(snakemake(workdir, *args, "--dry-run").stdout)
    assert jobs["check_batch_size"] == jobs["train"] == 1


TINY_BUILDER = '''

def tiny(image_size: int = 200, num_classes: int = 3) -> keras.Model:
    """A one-layer segmenter, added by a test."""
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny")


BUILDERS["tiny"] = tiny
'''
TINY_ENTRY = """
MODELS["tiny"] = Model(SEGMENTATION, mb_per_image=5, mb_size=200)
"""


def test_a_model_is_one_builder_one_catalog_entry_and_one_config_section(tmp_path):
    workdir = copy_workflow(tmp_path)
    models = workdir / "scripts/snakevision/models"
    with open(models / "segmentation.py", "a") as builders:
        builders.write(TINY_BUILDER)
    with open(models / "catalog.py", "a") as catalog:
        catalog.write(TINY_ENTRY)
    train = {
        "epochs": 1,
        "batch_size": 16,
        "optimizer": "adam",
        "learning_rate": 0.001,
        "seeds": [3],
        "precision": "float32",
        "steps_per_execution": 1,
        "micro_batches": 1,
    }
    write_config(
        workdir / "tiny.yaml",
        {"segmentation": {"models": ["book", "unet", "tiny"], "train": {"tiny": train}}},
    )
    args = ["--profile", "profiles/demo", "--configfile", "profiles/demo/demo.yaml", "tiny.yaml"]
    run = snakemake(workdir, *args, "--dry-run").stdout
    jobs = planned_jobs(run)
    # The demo's two seeds of each of book and unet, its one of tiny, one of each classifier.
    assert jobs["train"] == jobs["evaluate"] == 7 and jobs["check_batch_size"] == 3
    assert jobs["summarise"] == 5
    assert "wildcards: task=segmentation, run=tiny, seed=3" in run
    assert "results/segmentation/tiny/masks.png" in run  # in the galleries
    assert "results/segmentation/tiny/seed_3/model.keras" in run.split("rule predict:")[1]
    # And it trains and is scored like the others.
    snakemake(workdir, "results/segmentation/tiny/summary.json", *args)
    tiny = workdir / "results/segmentation/tiny"
    metrics = json.loads((tiny / "seed_3/metrics.json").read_text())
    assert metrics["num_images"] == 96 and 0 <= metrics["mean_iou"] <= 1
    assert metrics["params"] == 3 * 3 * 3 * 8 + 8 + 8 * 3 + 3
    assert pd.read_csv(tiny / "seed_3/history.csv").epoch.tolist() == [1]
    assert json.loads((tiny / "summary.json").read_text())["seeds"] == [3]
