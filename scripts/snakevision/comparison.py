"""Tables that put our metrics beside the book's."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from snakevision.metrics import headline_scores

PARAMS_LINE = re.compile(r"params total=(\d+)")
# What the data were, by dataset.source: said once, for every table, chart and page.
DATA_NAMES = {"synthetic": "synthetic", "download": "Oxford pets"}
# The metric the book publishes for a model and its value (models.catalog.book_figure), or None.
BookFigures = Mapping[str, "tuple[str, float] | None"]


def read_metrics(path: str | Path) -> dict:
    """A metrics.json."""
    return json.loads(Path(path).read_text())


def parameter_count(summary: Path) -> int:
    """Total parameters from a summary written by models.classification.summary_text."""
    return int(PARAMS_LINE.search(Path(summary).read_text()).group(1))


def book_value(book: BookFigures, model: str, metric: str) -> float | None:
    """The book's figure for this model and metric, None where it publishes none."""
    figure = book.get(model)
    return figure[1] if figure and figure[0] == metric else None


def classifiers(
    models: Sequence[str], metrics: Sequence[Path], summaries: Sequence[Path], book: BookFigures
) -> pd.DataFrame:
    """model, test_accuracy, book_accuracy, params, auc, num_images: one row per classifier."""
    rows = []
    for model, metrics_path, summary in zip(models, metrics, summaries, strict=True):
        found = read_metrics(metrics_path)
        figure = book_value(book, model, "accuracy")
        rows.append(
            {
                "model": model,
                "test_accuracy": found["accuracy"],
                "book_accuracy": float("nan") if figure is None else figure,
                "params": parameter_count(summary),
                "auc": found["auc"],
                "num_images": found["num_images"],
            }
        )
    return pd.DataFrame(rows)


def segmenters(
    models: Sequence[str], metrics: Sequence[Path], params: Sequence[int]
) -> pd.DataFrame:
    """model, params, then every metric: one row per segmentation model, in the order given."""
    rows = []
    for model, path, count in zip(models, metrics, params, strict=True):
        found = read_metrics(path)
        rows.append(
            {
                "model": model,
                "params": count,
                **headline_scores(found, path),
                "num_images": found["num_images"],
            }
        )
    return pd.DataFrame(rows)


def headline(runs: Mapping[tuple[str, str], dict], book: BookFigures) -> pd.DataFrame:
    """Every headline metric, one row each: task, model, metric, value, book_value.

    runs maps (task, model) to its metrics.json, read.
    """
    rows = [
        (task, model, metric, value, book_value(book, model, metric))
        for (task, model), metrics in runs.items()
        for metric, value in headline_scores(metrics).items()
    ]
    return pd.DataFrame(rows, columns=["task", "model", "metric", "value", "book_value"])
