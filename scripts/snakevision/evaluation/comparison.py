"""Tables that put a task's runs side by side over their seeds, beside the book's figures."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

# Run -> the metric the book publishes for its architecture and the value
# (models.catalog.published), or None.
Published = Mapping[str, "tuple[str, float] | None"]


def published_value(published: Published, run: str, metric: str) -> float | None:
    """The book's figure for this run's architecture and metric, None where it has none."""
    figure = published.get(run)
    return figure[1] if figure and figure[0] == metric else None


def table(
    summaries: Mapping[str, dict], published: Published, architectures: Mapping[str, str]
) -> pd.DataFrame:
    """One row per run: its architecture, parameters, seeds and how many learned more than the
    majority class, each reported metric's mean and sd over the seeds (book_<metric> beside the
    metric the book publishes), and the images scored."""
    rows = []
    for run, summary in summaries.items():
        row = {
            "run": run,
            "architecture": architectures[run],
            "params": summary["params"],
            "seeds": summary["n"],
            "learned": summary["learned"],
        }
        for metric, entry in summary["metrics"].items():
            row[metric], row[f"{metric}_sd"] = entry["mean"], entry["sd"]
            if (figure := published_value(published, run, metric)) is not None:
                row[f"book_{metric}"] = figure
        rows.append({**row, "num_images": summary["num_images"]})
    return pd.DataFrame(rows)


def every_metric(
    summaries: Mapping[tuple[str, str], dict],
    published: Published,
    architectures: Mapping[str, str],
) -> pd.DataFrame:
    """Every reported metric of every run, one row each: task, run, architecture,
    metric, value (the mean over seeds), sd, n (seeds), book_value. summaries maps (task, run)
    to its summary.json, read."""
    rows = [
        (
            task,
            run,
            architectures[run],
            metric,
            entry["mean"],
            entry["sd"],
            entry["n"],
            published_value(published, run, metric),
        )
        for (task, run), summary in summaries.items()
        for metric, entry in summary["metrics"].items()
    ]
    columns = ["task", "run", "architecture", "metric", "value", "sd", "n", "book_value"]
    return pd.DataFrame(rows, columns=columns)
