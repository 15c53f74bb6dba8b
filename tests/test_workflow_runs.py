"""Runs beside each other in the demo: exact plans for adding, sweeping, editing and removing
runs, and a variant of the book's model trained end to end onto the front page."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from workflow import DEMO, demo_config, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

# The demo's runs, with a variant of the book's model: a smaller batch, one seed.
VARIANT = {
    "segmentation": {
        "models": ["book", "unet", "book_b8"],
        "train": {"book_b8": {"architecture": "book", "batch_size": 8, "seeds": [1337]}},
    }
}


def _runs_of(rule: str, output: str) -> list[str]:
    """The run wildcard of each planned job of a rule, in plan order."""
    blocks = re.findall(rf"^(?:local)?rule {rule}:\n((?:    .*\n)+)", output, re.MULTILINE)
    return [re.search(r"run=([^,\s]+)", block).group(1) for block in blocks]


def test_adding_a_run_trains_only_it_and_reruns_the_summaries(demo):
    run = snakemake(demo, *demo_config(demo, "variant.yaml", VARIANT)).stdout
    assert planned_jobs(run) == {
        "check_batch_size": 1,
        "train": 1,
        "evaluate": 1,
        "summarise": 1,
        "compare": 1,  # the task's table and seeds figure gain its row
        "galleries": 1,  # the comparison of every run's masks
        "front_page": 1,
        "resources": 1,
        "all": 1,
    }
    assert _runs_of("train", run) == _runs_of("evaluate", run) == ["book_b8"]
    # Interpretation and predictions keep the runs named after their architecture.
    assert "predict" not in planned_jobs(run) and "explain" not in planned_jobs(run)


def test_a_sweep_plans_one_run_per_combination(demo):
    sweep = {
        "segmentation": {
            "models": ["book", "unet", "book_grid"],
            "train": {
                "book_grid": {
                    "architecture": "book",
                    "seeds": [1337],
                    "sweep": {"batch_size": [8, 32], "learning_rate": [0.0003]},
                }
            },
        }
    }
    run = snakemake(demo, *demo_config(demo, "sweep.yaml", sweep)).stdout
    assert sorted(_runs_of("train", run)) == [
        "book_grid~batch_size=32~learning_rate=0.0003",
        "book_grid~batch_size=8~learning_rate=0.0003",
    ]
    assert planned_jobs(run)["summarise"] == 2 and planned_jobs(run)["compare"] == 1


def test_a_variant_trains_onto_the_front_page_and_edits_rerun_exactly_its_runs(demo, tmp_path):
    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    override = copy / "variant.yaml"
    args = demo_config(copy, "variant.yaml", VARIANT)[:-1]  # not a dry run
    snakemake(copy, *args)
    history = pd.read_csv(copy / "results/segmentation/book_b8/seed_1337/history.csv")
    assert len(history) == 6  # the book's section's epochs, inherited
    table = pd.read_csv(copy / "results/report/front_page.csv")
    recipes = dict(zip(table.run, table["architecture + recipe"]))
    assert recipes["book_b8"] == "book + batch_size 8" and recipes["book"] == "book"
    assert table[table.run == "book_b8"].task.item() == "segmentation"
    page = (copy / "results/report/front_page.rst").read_text()
    assert '"book_b8", "book + batch_size 8"' in page
    assert "book_b8 6 epochs, batch 8, float32, 1 seed (1337)" in page
    assert "book_b8" in pd.read_csv(copy / "results/segmentation/comparison.csv").run.tolist()
    assert planned_jobs(snakemake(copy, *args, "--dry-run").stdout) == {}

    def planned(change: dict) -> tuple[dict, str]:
        edited = {
            "segmentation": {
                **VARIANT["segmentation"],
                "train": {**VARIANT["segmentation"]["train"], **change},
            }
        }
        output = snakemake(copy, *demo_config(copy, "edited.yaml", edited)).stdout
        return planned_jobs(output), output

    # A value the variant inherits: the book's runs and the variant train again.
    book = {"book": {"learning_rate": 0.002}}
    jobs, output = planned(book)
    assert sorted(_runs_of("train", output)) == ["book", "book", "book_b8"], output
    assert jobs["train"] == jobs["evaluate"] == 3
    # A value the variant sets itself: only the book's own runs.
    jobs, output = planned({"book": {"batch_size": 32}})
    assert _runs_of("train", output) == ["book", "book"], output
    # Removing the variant reruns the comparisons and the front page, and trains nothing.
    override.write_text("{}\n")
    removed = snakemake(
        copy, *DEMO, "--configfile", "profiles/demo/demo.yaml", "variant.yaml", "-n"
    )
    assert planned_jobs(removed.stdout) == {
        "compare": 1,
        "galleries": 1,
        "front_page": 1,
        "resources": 1,
        "all": 1,
    }
