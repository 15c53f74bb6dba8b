"""Tables that put our models side by side over their seeds, and beside the book's figures."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

# The metric the book publishes for a model and its value (models.catalog.book_figure), or None.
BookFigures = Mapping[str, "tuple[str, float] | None"]


def book_value(book: BookFigures, model: str, metric: str) -> float | None:
    """The book's figure for this model and metric, None where it publishes none."""
    figure = book.get(model)
    return figure[1] if figure and figure[0] == metric else None


def table(summaries: Mapping[str, dict], book: BookFigures) -> pd.DataFrame:
    """One row per model: parameters, seeds and how many learned more than the majority class,
    each headline metric's mean and sd over the seeds (book_<metric> beside the metric the book
    publishes), and the images scored."""
    rows = []
    for model, summary in summaries.items():
        row = {
            "model": model,
            "params": summary["params"],
            "seeds": summary["n"],
            "learned": summary["learned"],
        }
        for metric, entry in summary["metrics"].items():
            row[metric], row[f"{metric}_sd"] = entry["mean"], entry["sd"]
            if (figure := book_value(book, model, metric)) is not None:
                row[f"book_{metric}"] = figure
        rows.append({**row, "num_images": summary["num_images"]})
    return pd.DataFrame(rows)


def headline(summaries: Mapping[tuple[str, str], dict], book: BookFigures) -> pd.DataFrame:
    """Every headline metric, one row each: task, model, metric, value (the mean over seeds), sd,
    n (seeds), book_value. summaries maps (task, model) to its summary.json, read."""
    rows = [
        (
            task,
            model,
            metric,
            entry["mean"],
            entry["sd"],
            entry["n"],
            book_value(book, model, metric),
        )
        for (task, model), summary in summaries.items()
        for metric, entry in summary["metrics"].items()
    ]
    columns = ["task", "model", "metric", "value", "sd", "n", "book_value"]
    return pd.DataFrame(rows, columns=columns)
