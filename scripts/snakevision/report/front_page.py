"""The report's front page: per task, one row per run with its architecture, its recipe and its
reported metrics beside the book's figure; then the data and the settings behind them."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from snakevision.evaluation.comparison import published_value
from snakevision.evaluation.spread import format_spread, learned_sentence, seed_count
from snakevision.models.tasks import DECIMALS, SPLIT_NAMES, TASKS, metric_name

DATA = {
    "synthetic": "synthetic pets drawn in the Oxford-IIIT Pet layout (the offline demo, "
    "not photographs)",
    "download": "the Oxford-IIIT Pet photographs",
}
# What the profile's data is, beside its name.
PROFILE_DATA = {"synthetic": "synthetic data", "download": "the real photographs"}
BOOK, DIFFERENCE = "the book's", "difference"
ARCHITECTURE = "architecture + recipe"
# Runs: run -> its record (config.runs.Run.record, with the book's `published` figure).
Runs = Mapping[str, Mapping[str, Any]]


def _shown(value: float | None) -> str:
    """A number as the page shows it."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.{DECIMALS}f}"


def _recipe(record: Mapping[str, Any]) -> str:
    """A run's architecture, and what its recipe changes from that architecture's section:
    'book' for the book's section as it is, 'book + optimizer adam' for a variant."""
    recipe = record["recipe"]
    return f"{record['architecture']} + {recipe}" if recipe else record["architecture"]


def task_table(task: str, summaries: Mapping[str, dict], runs: Runs) -> pd.DataFrame:
    """One row per run: its architecture and what its recipe changes, its metrics over its
    seeds (`mean ± sd (n)`, or one seed's value), and beside the metric the book publishes the
    book's figure and the difference (our mean minus it), where it publishes one for the task."""
    published = {run: runs[run]["published"] for run in summaries}
    shown = TASKS[task].shown
    columns = {m for run in summaries for m in shown if published_value(published, run, m)}
    rows = []
    for run, summary in summaries.items():
        row = {"run": run, ARCHITECTURE: _recipe(runs[run])}
        for metric in shown:
            entry, name = summary["metrics"][metric], metric_name(metric)
            row[name] = format_spread(entry)
            if metric in columns:
                theirs = published_value(published, run, metric)
                row[f"{BOOK} {name}"] = _shown(theirs)
                row[DIFFERENCE] = (
                    ""
                    if theirs is None or entry["mean"] is None
                    else f"{entry['mean'] - theirs:+.{DECIMALS}f}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def task_tables(summaries: Mapping[tuple[str, str], dict], runs: Runs) -> dict[str, pd.DataFrame]:
    """task -> its table, from {(task, run): summary.json read}, tasks in the order met."""
    return {task: task_table(task, found, runs) for task, found in by_task(summaries).items()}


def by_task(summaries: Mapping[tuple[str, str], dict]) -> dict[str, dict[str, dict]]:
    """task -> run -> summary, tasks and runs in the order met."""
    found: dict[str, dict[str, dict]] = {}
    for (task, run), summary in summaries.items():
        found.setdefault(task, {})[run] = summary
    return found


def split_counts(split: pd.DataFrame) -> dict[str, dict[str, int]]:
    """task -> split -> number of images, from results/data/split.csv."""
    counts = split.groupby(["task", "split"]).size()
    return {
        task: {name: int(counts[task][name]) for name in SPLIT_NAMES if name in counts[task]}
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
        "   :class: results",
        "",
        *("   " + ", ".join(_cell(v) for v in row) for row in table.itertuples(index=False)),
        "",
    ]


def _training(run: str, record: Mapping[str, Any], precision: str) -> str:
    """How a run trained: 'book 50 epochs, batch 64, float32, 1 seed (1337)'."""
    patience = f" (patience {record['patience']})" if record.get("patience") else ""
    seeds = record["seeds"]
    return (
        f"{run} {record['epochs']} epochs{patience}, batch {record['batch_size']}, {precision}, "
        f"{seed_count(len(seeds))} ({', '.join(map(str, seeds))})"
    )


def front_page(
    summaries: Mapping[tuple[str, str], dict],
    runs: Runs,
    split: pd.DataFrame,
    precisions: Mapping[str, str],
    settings: Mapping[str, Any],
) -> str:
    """reStructuredText for the report's front page, from {(task, run): summary.json read}.

    precisions: run -> the precision policy training used (from its first seed's history);
    settings: profile (config's: full, demo...), source (download | synthetic), backend.
    """
    tables = task_tables(summaries, runs)
    counts = split_counts(split)
    per_task = "; ".join(
        f"{task} "
        + ", ".join(f"{n:,} {SPLIT_NAMES[name]}" for name, n in counts.get(task, {}).items())
        for task in tables
        if task in counts
    )
    trained = "; ".join(_training(run, runs[run], precisions[run]) for _, run in summaries)
    lines = [
        "Results",
        "-------",
        "",
        f"Profile: {settings['profile']} ({PROFILE_DATA[settings['source']]}).",
        "",
    ]
    for task, table in tables.items():
        lines += _csv_table(
            f"{task.capitalize()}, on the {TASKS[task].evaluated_name} split", table
        )
        if not any(column.startswith(BOOK) for column in table.columns):
            lines += [f"The book publishes no {task} metric.", ""]
        learned = "; ".join(
            f"{run}: {learned_sentence(summary)}"
            for run, summary in by_task(summaries)[task].items()
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
