"""The report's library: the front page's table and text, the benchmarks gathered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from snakemake.io import regex_from_filepattern
from snakevision.evaluation import spread
from snakevision.files import write_csv
from snakevision.report import front_page, resources

# As rules/common.smk gives them: Snakemake's own regex of each rule's benchmark pattern.
PATTERNS = {
    rule: regex_from_filepattern(pattern)
    for rule, pattern in {
        "train_classifier": "benchmarks/classification/train_{model,convnet|mini_xception}.tsv",
        "filters": "benchmarks/interpretation/filters_{model,convnet|mini_xception}_{layer}.tsv",
        "index": "benchmarks/data/index.tsv",
        "resources": "benchmarks/report/resources.tsv",
    }.items()
}
BENCHMARK = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_jobs_are_named_with_constraints_and_repeated_wildcards():
    patterns = {"r": regex_from_filepattern("a/{x,\\d{2}}_{y}/{x}.tsv")}
    assert resources.job_of("a/12_b_c/12.tsv", patterns) == ("r", "x=12,y=b_c")
    assert resources.job_of("a/1_b/1.tsv", patterns) is None
    assert resources.job_of("a/12_b/13.tsv", patterns) is None


def test_gather_names_jobs_skips_itself_and_sorts_slowest_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # wall s, max_rss MB, cpu s; the other columns 0
    for path, (wall, rss, cpu) in {
        "benchmarks/classification/train_mini_xception.tsv": ("5.5", "900", "9.5"),
        "benchmarks/interpretation/filters_mini_xception_block3_sepconv1.tsv": ("2", "NA", "1"),
        "benchmarks/data/index.tsv": ("0.3", "7.6", "0.25"),
        "benchmarks/report/resources.tsv": ("0.1", "1", "0"),
    }.items():
        _benchmark(tmp_path / path, wall, rss, cpu)
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.tsv"))
    table = resources.gather(files, PATTERNS, skip=["resources"])
    assert table.rule.tolist() == ["train_classifier", "filters", "index"]
    assert table.wildcards.tolist() == [
        "model=mini_xception",
        "model=mini_xception,layer=block3_sepconv1",
        "",
    ]
    assert table.wall_s.tolist() == [5.5, 2.0, 0.3] and table.cpu_s.tolist() == [9.5, 1.0, 0.25]
    assert table.max_rss_mb.isna().tolist() == [False, True, False]
    resources.chart(table, tmp_path / "resources.png")
    assert (tmp_path / "resources.png").stat().st_size > 1000


def _benchmark(path, wall: str, rss: str, cpu: str) -> None:
    """A Snakemake benchmark file of one run: wall s, max_rss MB, cpu s; the other columns 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCHMARK + "\t".join([wall, "0:00:00", rss, *"000000", cpu]) + "\n")


@pytest.mark.parametrize("missing", ["0", "0.00", "-", "NA"])
def test_a_value_a_short_job_was_not_sampled_for_is_unknown_not_zero(
    tmp_path, monkeypatch, missing
):
    # A half-second job ends before Snakemake's first sample, or is sampled before it has
    # used memory: its benchmark holds 0, '-' or NA for the sampled columns. The wall time is
    # timed, not sampled.
    monkeypatch.chdir(tmp_path)
    path = Path("benchmarks/data/index.tsv")
    _benchmark(path, "0.47", missing, missing)
    assert resources.read_benchmark(path) == {
        "wall_s": 0.47,
        "cpu_s": pytest.approx(float("nan"), nan_ok=True),
        "max_rss_mb": pytest.approx(float("nan"), nan_ok=True),
    }
    # Unknown in resources.csv too: an empty cell, not 0.
    table = resources.gather([path], PATTERNS)
    write_csv(table, Path("resources.csv"))
    row = Path("resources.csv").read_text().splitlines()[1]
    assert row == f"index,,0.47,,,{path}"
    assert pd.read_csv("resources.csv")[["cpu_s", "max_rss_mb"]].isna().all(axis=None)
    # Repeats (Snakemake's benchmark repeats) average what was measured.
    path.write_text(
        BENCHMARK
        + "\t".join(["1", "0:00:01", missing, *"000000", missing])
        + "\n"
        + "\t".join(["3", "0:00:03", "80", *"000000", "2"])
        + "\n"
    )
    assert resources.read_benchmark(path) == {"wall_s": 2.0, "cpu_s": 2.0, "max_rss_mb": 80.0}


def test_the_figure_says_which_values_were_not_sampled(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    shown, save = {}, plt.Figure.savefig

    def keep(fig, *args, **kwargs):  # what the figure holds as it is saved
        axes = fig.axes
        shown["titles"] = [ax.get_title() for ax in axes]
        shown["texts"] = [text.get_text() for text in axes[1].texts]
        shown["time_texts"] = [text.get_text() for text in axes[0].texts]
        shown["notes"] = [text.get_text() for text in fig.texts]
        shown["bars"] = [len(ax.patches) for ax in axes]
        save(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", keep)
    nan = float("nan")
    table = pd.DataFrame(
        {
            "rule": ["train", "extract", "index"],
            "wildcards": ["model=unet", "archive=images", ""],
            "wall_s": [60.0, 0.5, 0.4],
            "cpu_s": [100.0, nan, 0.3],
            "max_rss_mb": [900.0, nan, nan],
            "benchmark": ["a.tsv", "b.tsv", "c.tsv"],
        }
    )
    resources.chart(table, tmp_path / "resources.png")
    time_title, memory_title = shown["titles"]
    assert "(CPU time not sampled for 1 job)" in time_title
    assert "(not sampled for 2 jobs)" in memory_title
    assert shown["texts"] == [" not sampled", " not sampled"]
    assert shown["time_texts"] == [" CPU time not sampled"]
    assert resources.UNKNOWN_NOTE in shown["notes"]
    # Wall time for all 3 jobs and CPU time for the 2 measured; memory only where measured.
    assert shown["bars"] == [3 + 2, 1]
    assert (tmp_path / "resources.png").stat().st_size > 1000


def test_gather_leaves_out_benchmarks_no_rule_of_the_run_writes(tmp_path):
    stray = tmp_path / "benchmarks/old/gone.tsv"
    stray.parent.mkdir(parents=True)
    stray.write_text(BENCHMARK)
    unknown = []
    removed_model = "benchmarks/classification/train_resnet.tsv"
    assert resources.gather([stray, removed_model], PATTERNS, unknown=unknown).empty
    assert sorted(unknown) == sorted([removed_model, str(stray)])


def _summary(learned: int, **values: list) -> dict:
    """A summary.json as spread.summary writes it, for these per-seed values."""
    n = len(next(iter(values.values())))
    return {
        "n": n,
        "learned": learned,
        "metrics": {
            metric: spread.describe({str(seed): v for seed, v in enumerate(vs)})
            for metric, vs in values.items()
        },
    }


def _record(task: str, architecture: str, recipe: str = "", **length):
    """A run's record as config.runs.Run.record gives it."""
    settings = {"epochs": 100, "batch_size": 32, "patience": None, "seeds": [1337], **length}
    published = {"convnet": ("accuracy", 0.835), "mini_xception": ("accuracy", 0.908)}
    return {
        "task": task,
        "architecture": architecture,
        "recipe": recipe,
        **settings,
        "published": published.get(architecture),
    }


def test_front_page_tables_put_the_book_beside_the_metric_it_publishes():
    summaries = {
        ("segmentation", "book"): _summary(
            1, pixel_accuracy=[0.81, 0.79], mean_iou=[0.5544, 0.3], foreground_iou=[0.4, 0.2]
        ),
        ("classification", "convnet"): _summary(1, accuracy=[0.9167], auc=[0.95]),
        ("classification", "mini_xception"): _summary(0, accuracy=[0.75], auc=[None]),
        ("classification", "convnet_adam"): _summary(1, accuracy=[0.8], auc=[0.9]),
    }
    runs = {
        "book": _record("segmentation", "book", seeds=[1337, 1]),
        "convnet": _record("classification", "convnet"),
        "mini_xception": _record("classification", "mini_xception"),
        "convnet_adam": _record("classification", "convnet", "optimizer adam", patience=5),
    }
    tables = front_page.task_tables(summaries, runs)
    assert list(tables) == ["segmentation", "classification"]
    assert tables["segmentation"].to_dict("records") == [
        {
            "run": "book",
            "architecture + recipe": "book",
            "pixel accuracy": "0.800 ± 0.014 (2)",
            "mean IoU": "0.427 ± 0.180 (2)",
            "foreground IoU": "0.300 ± 0.141 (2)",
        }
    ]
    assert tables["classification"].to_dict("records") == [
        {
            "run": "convnet",
            "architecture + recipe": "convnet",
            "accuracy": "0.917",
            "the book's accuracy": "0.835",
            "difference": "+0.082",
            "ROC AUC": "0.950",
        },
        {
            "run": "mini_xception",
            "architecture + recipe": "mini_xception",
            "accuracy": "0.750",
            "the book's accuracy": "0.908",
            "difference": "-0.158",
            "ROC AUC": "n/a",
        },
        # A recipe of the convnet's beside it, the book's figure for its architecture beside it.
        {
            "run": "convnet_adam",
            "architecture + recipe": "convnet + optimizer adam",
            "accuracy": "0.800",
            "the book's accuracy": "0.835",
            "difference": "-0.035",
            "ROC AUC": "0.900",
        },
    ]
    both = front_page.as_csv(tables)
    assert list(both.columns[:4]) == ["task", "run", "architecture + recipe", "pixel accuracy"]
    assert both.loc[0, "accuracy"] == "" and both.loc[1, "mean IoU"] == ""
    split = pd.DataFrame(
        {
            "stem": list("abcde"),
            "task": ["segmentation"] * 3 + ["classification"] * 2,
            "split": ["train", "train", "val", "test", "train"],
        }
    )
    settings = {"profile": "laptop", "source": "download", "backend": "jax"}
    precisions = {run: "float32" for run in runs} | {"convnet": "mixed_bfloat16"}
    page = front_page.front_page(summaries, runs, split, precisions, settings)
    assert "the Oxford-IIIT Pet photographs" in page and "backend jax" in page
    assert "Profile: laptop (the real photographs)." in page
    assert page.index("Profile: laptop") < page.index("csv-table")  # named first
    synthetic = front_page.front_page(
        summaries, runs, split, precisions, {**settings, "profile": "demo", "source": "synthetic"}
    )
    assert "Profile: demo (synthetic data)." in synthetic
    assert "The book publishes no segmentation metric." in page
    assert "Classification, on the test split" in page and "classification metric" not in page
    assert "book: 1 of 2 seeds learned more than the majority class." in page
    assert "mini_xception: 0 of 1 seed learned more than the majority class;" in page
    assert "segmentation 2 training, 1 validation; classification 1 training, 1 test" in page
    assert "convnet 100 epochs, batch 32, mixed_bfloat16, 1 seed (1337)" in page
    assert "convnet_adam 100 epochs (patience 5), batch 32, float32, 1 seed (1337)" in page
    assert "convnet_adam: 1 of 1 seed learned more than the majority class." in page
