"""The report's front page: the headline results beside the book's, the data and the settings."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

NO_FIGURE = "the book publishes no figure"
DECIMALS = 3
SPLITS = ("train", "val", "test")
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}


def _number(value: Any) -> float | None:
    """A metric value as a float; None where the table leaves it empty."""
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


def headline_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """task, model, metric, ours, the book's, difference: as shown, rounded to DECIMALS."""
    rows = []
    for row in metrics.itertuples(index=False):
        ours, book = _number(row.value), _number(row.book_value)
        rows.append(
            {
                "task": row.task,
                "model": row.model,
                "metric": row.metric,
                "ours": "n/a" if ours is None else f"{ours:.{DECIMALS}f}",
                "the book's": NO_FIGURE if book is None else f"{book:.{DECIMALS}f}",
                "difference": (
                    "" if ours is None or book is None else f"{ours - book:+.{DECIMALS}f}"
                ),
            }
        )
    return pd.DataFrame(
        rows, columns=["task", "model", "metric", "ours", "the book's", "difference"]
    )


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


def front_page(
    metrics: pd.DataFrame,
    split: pd.DataFrame,
    precisions: Mapping[str, str],
    settings: Mapping[str, Any],
) -> str:
    """reStructuredText for the report's front page.

    precisions: model -> the precision policy training used (from its history); settings:
    source (download | synthetic), backend, and train: model -> {epochs, batch_size, ...}.
    """
    table = headline_table(metrics)
    counts = split_counts(split)
    if settings["source"] == "synthetic":
        data = (
            "synthetic pets drawn in the Oxford-IIIT Pet layout (the offline demo, not photographs)"
        )
    else:
        data = "the Oxford-IIIT Pet photographs"
    per_task = "; ".join(
        f"{task} "
        + ", ".join(f"{n:,} {SPLIT_NAMES[name]}" for name, n in counts.get(task, {}).items())
        for task in ("segmentation", "classification")
        if task in counts
    )
    trained = "; ".join(
        f"{model} {train['epochs']} epochs, batch {train['batch_size']}, {precisions[model]}"
        for model, train in settings["train"].items()
    )
    lines = [
        "Results",
        "-------",
        "",
        f"Data: {data}; images per split: {per_task}. "
        f"Training: {trained}; Keras backend {settings['backend']}. "
        "The book's classifiers were trained on 2,000 Kaggle dogs-vs-cats images and tested on "
        "1,000, and it publishes no segmentation metric, so differences compare the recipe, "
        "not the same test set.",
        "",
        ".. csv-table:: Headline metrics: ours (validation split for segmentation, test split "
        "for the classifiers) beside the book's",
        "   :header: " + ", ".join(_cell(c) for c in table.columns),
        "   :class: headline",
        "",
        *("   " + ", ".join(_cell(v) for v in row) for row in table.itertuples(index=False)),
        "",
    ]
    return "\n".join(lines)


def last_precision(history: str | os.PathLike[str]) -> str:
    """The precision policy of a training history's last epoch."""
    return str(pd.read_csv(Path(history))["precision"].iloc[-1])
