"""Tables that put our metrics beside the book's."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from snakevision import book
from snakevision.metrics import headline_scores

PARAMS_LINE = re.compile(r"params total=(\d+)")


def parameter_count(summary: Path) -> int:
    """Total parameters from a summary written by models.classification.summary_text."""
    return int(PARAMS_LINE.search(Path(summary).read_text()).group(1))


def classifiers(
    models: Sequence[str], metrics: Sequence[Path], summaries: Sequence[Path]
) -> pd.DataFrame:
    """model, test_accuracy, book_accuracy, params, auc, num_images: one row per classifier."""
    rows = []
    for model, metrics_path, summary in zip(models, metrics, summaries, strict=True):
        scores = json.loads(Path(metrics_path).read_text())
        rows.append(
            {
                "model": model,
                "test_accuracy": scores["accuracy"],
                "book_accuracy": book.CLASSIFIER_ACCURACY.get(model, float("nan")),
                "params": parameter_count(summary),
                "auc": scores["auc"],
                "num_images": scores["num_images"],
            }
        )
    return pd.DataFrame(rows)


def segmenters(
    models: Sequence[str], metrics: Sequence[Path], params: Sequence[int]
) -> pd.DataFrame:
    """model, params, then every metric: one row per segmentation model, in the order given."""
    rows = []
    for model, path, count in zip(models, metrics, params, strict=True):
        scores = json.loads(Path(path).read_text())
        rows.append(
            {
                "model": model,
                "params": count,
                **headline_scores(scores),
                "num_images": scores["num_images"],
            }
        )
    return pd.DataFrame(rows)


def headline(segmenters: dict[str, Path], classifiers: dict[str, Path]) -> pd.DataFrame:
    """Every headline metric, one row each: task, model, metric, value, book_value."""
    rows = []
    for model, path in segmenters.items():
        scores = json.loads(Path(path).read_text())
        for metric, value in headline_scores(scores).items():
            rows.append(("segmentation", model, metric, value, None))  # the book has none
    for model, path in classifiers.items():
        scores = json.loads(Path(path).read_text())
        rows.append(
            (
                "classification",
                model,
                "accuracy",
                scores["accuracy"],
                book.CLASSIFIER_ACCURACY.get(model),
            )
        )
        rows.append(("classification", model, "auc", scores["auc"], None))
    return pd.DataFrame(rows, columns=["task", "model", "metric", "value", "book_value"])
