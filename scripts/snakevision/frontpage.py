"""The report's front page: per task, one row per model with its headline metrics beside the
book's figure; then the data and the settings that matter for comparing them."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from snakevision.comparison import BookFigures, book_value
from snakevision.metrics import HEADLINES
from snakevision.spread import format_spread, learned_sentence, seeds

DECIMALS = 3
SPLITS = ("train", "val", "test")
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
# The metrics each task's table shows at a glance (metrics.csv has every headline metric).
SHOWN = {
    "segmentation": ("pixel_accuracy", "mean_iou", "foreground_iou"),
    "classification": ("accuracy", "auc"),
}
LABELS = {
    "pixel_accuracy": "pixel accuracy",
    "mean_iou": "mean IoU",
    "foreground_iou": "foreground IoU",
    "accuracy": "accuracy",
    "auc": "ROC AUC",
}
DATA = {
    "synthetic": "synthetic pets drawn in the Oxford-IIIT Pet layout (the offline demo, "
    "not photographs)",
    "download": "the Oxford-IIIT Pet photographs",
}
# What the profile's data is, beside its name.
PROFILE_DATA = {"synthetic": "synthetic data", "download": "the real photographs"}
BOOK, DIFFERENCE = "the book's", "difference"


def _shown(value: float | None) -> str:
    """A number as the page shows it."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.{DECIMALS}f}"


def task_table(task: str, summaries: Mapping[str, dict], book: BookFigures) -> pd.DataFrame:
    """One row per model: its headline metrics over its seeds (`mean ± sd (n)`, or the value of
    one seed), the book's figure and the difference (our mean minus it) beside the metric the
    book publishes: those columns only where it publishes one for a model of the task."""
    published = {m for model in summaries for m in SHOWN[task] if book_value(book, model, m)}
    rows = []
    for model, summary in summaries.items():
        row = {"model": model}
        for metric in SHOWN[task]:
            entry = summary["metrics"][metric]
            row[LABELS[metric]] = format_spread(entry)
            if metric in published:
                theirs = book_value(book, model, metric)
                row[f"{BOOK} {LABELS[metric]}"] = _shown(theirs)
                row[DIFFERENCE] = (
                    ""
                    if theirs is None or entry["mean"] is None
                    else f"{entry['mean'] - theirs:+.{DECIMALS}f}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def headline_tables(
    summaries: Mapping[tuple[str, str], dict], book: BookFigures
) -> dict[str, pd.DataFrame]:
    """task -> its table, from {(task, model): summary.json read}, tasks in the order met."""
    return {task: task_table(task, found, book) for task, found in by_task(summaries).items()}


def by_task(summaries: Mapping[tuple[str, str], dict]) -> dict[str, dict[str, dict]]:
    """task -> model -> summary, tasks and models in the order met."""
    found: dict[str, dict[str, dict]] = {}
    for (task, model), summary in summaries.items():
        found.setdefault(task, {})[model] = summary
    return found


def split_counts(split: pd.DataFrame) -> dict[str, dict[str, int]]:
    """task -> split -> number of images, from results/data/split.csv."""
    counts = split.groupby(["task", "split"]).size()
    return {
        task: {name: int(counts[task][name]) for name in SPLITS if name in counts[task]}
        for task in counts.index.get_level_values(0).unique()
    }


def _cell(text: str) -> str:
    """A csv-table cell: quoted, inner quotes doubled."""
    return '"' + str(text).replace('"', '""') + '"'


def _csv_table(title: str, table: pd.DataFrame) -> list[str]:
    """An rst csv-table directive."""
    return [
        f".. csv-table:: {title}",
        "   :header: " + ", ".join(_cell(c) for c in table.columns),
        "   :class: headline",
        "",
        *("   " + ", ".join(_cell(v) for v in row) for row in table.itertuples(index=False)),
        "",
    ]


def front_page(
    summaries: Mapping[tuple[str, str], dict],
    book: BookFigures,
    split: pd.DataFrame,
    precisions: Mapping[str, str],
    settings: Mapping[str, Any],
) -> str:
    """reStructuredText for the report's front page, from {(task, model): summary.json read}.

    precisions: model -> the precision policy training used (from its first seed's history);
    settings: profile (config's: full, demo...), source (download | synthetic), backend, and
    train: model -> {epochs, batch_size, precision, seeds}.
    """
    tables = headline_tables(summaries, book)
    counts = split_counts(split)
    per_task = "; ".join(
        f"{task} "
        + ", ".join(f"{n:,} {SPLIT_NAMES[name]}" for name, n in counts.get(task, {}).items())
        for task in tables
        if task in counts
    )
    trained = "; ".join(
        f"{model} {train['epochs']} epochs, batch {train['batch_size']}, {precisions[model]}, "
        f"{seeds(len(train['seeds']))} ({', '.join(map(str, train['seeds']))})"
        for model, train in settings["train"].items()
    )
    lines = [
        "Results",
        "-------",
        "",
        f"Profile: {settings['profile']} ({PROFILE_DATA[settings['source']]}).",
        "",
    ]
    for task, table in tables.items():
        lines += _csv_table(f"{task.capitalize()}, on the {HEADLINES[task].split} split", table)
        if not any(column.startswith(BOOK) for column in table.columns):
            lines += [f"The book publishes no {task} metric.", ""]
        learned = "; ".join(
            f"{model}: {learned_sentence(summary)}"
            for model, summary in by_task(summaries)[task].items()
        )
        lines += [f"{learned}.", ""]
    lines += [
        f"Data: {DATA[settings['source']]}; images per split: {per_task}. "
        f"Training: {trained}; Keras backend {settings['backend']}. "
        "The book's classifiers were trained on 2,000 Kaggle dogs-vs-cats images and tested on "
        "1,000, so differences compare the recipe, not the same test set.",
        "",
    ]
    return "\n".join(lines)


def as_csv(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The page's tables as one: a task column, then every table's columns (blank where none)."""
    return pd.concat(
        [table.assign(task=task) for task, table in tables.items()], ignore_index=True
    ).fillna("")[["task", *dict.fromkeys(c for t in tables.values() for c in t.columns)]]


def last_precision(history: str | os.PathLike[str]) -> str:
    """The precision policy of a training history's last epoch."""
    return str(pd.read_csv(Path(history))["precision"].iloc[-1])
