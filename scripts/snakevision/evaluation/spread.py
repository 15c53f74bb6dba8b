"""One run trained with several seeds: each reported metric's spread, and which seeds learned."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from snakevision.evaluation.metrics import majority_score, reported_scores, task_of
from snakevision.models.tasks import DECIMALS, TASKS


def describe(values: Mapping[str, float | None]) -> dict[str, Any]:
    """n, mean, sd (sample, ddof=1; None for one value), min, max, and the values per seed.

    A None value (an IoU undefined for a class absent from truth and prediction) is kept in
    values but left out of the statistics; with no number at all they are None.
    """
    numbers = [float(v) for v in values.values() if v is not None]
    n = len(numbers)
    return {
        "n": n,
        "mean": statistics.fmean(numbers) if n else None,
        "sd": statistics.stdev(numbers) if n > 1 else None,
        "min": min(numbers) if n else None,
        "max": max(numbers) if n else None,
        "values": dict(values),
    }


def summary(seeds: Sequence[int], metrics_paths: Sequence[str | Path]) -> dict[str, Any]:
    """summary.json of one model: per reported metric its spread over seeds, seeds that learned.

    metrics_paths[i] is seed seeds[i]'s metrics.json. A seed learned when its main metric
    (segmentation mean IoU, classification accuracy) is above what predicting the most common
    true class everywhere scores on its own confusion matrix. Seeds are JSON keys, so strings.
    """
    if len(seeds) != len(metrics_paths) or not seeds:
        raise ValueError(
            f"summary needs one metrics.json per seed: {len(seeds)} seeds {list(seeds)}, "
            f"{len(metrics_paths)} files {[str(p) for p in metrics_paths]}"
        )
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {list(seeds)} repeat one; list each seed once")
    scores, tasks, first = {}, {}, None
    for seed, path in zip(seeds, metrics_paths):
        data = json.loads(Path(path).read_text())
        first = first or data
        tasks[path] = task_of(data, path)
        scores[str(seed)] = (reported_scores(data, path), majority_score(data))
    if len(set(tasks.values())) > 1:
        raise ValueError(f"metrics.json files of different tasks in one summary: {tasks}")
    task = next(iter(tasks.values()))
    record = TASKS[task]
    majority = {seed: base for seed, (_, base) in scores.items()}
    learned = sum(flat[record.main] > majority[seed] for seed, (flat, _) in scores.items())
    return {
        "task": task,
        "main_metric": record.main,
        "split": record.evaluated_on,
        "seeds": [int(seed) for seed in seeds],
        "n": len(seeds),
        "learned": int(learned),
        "majority_score": majority,
        # The same for every seed: the images scored, and the model's size.
        "num_images": first["num_images"],
        "params": first.get("params"),
        "metrics": {
            metric: describe({seed: flat[metric] for seed, (flat, _) in scores.items()})
            for metric in record.metrics
        },
    }


def read_summary(path: str | Path) -> dict[str, Any]:
    """A summary.json as summary returned it."""
    data = json.loads(Path(path).read_text())
    if "metrics" not in data or "learned" not in data:
        raise ValueError(f"{path} is not a summary.json of seeds; rerun its summary rule")
    return data


def format_spread(entry: Mapping[str, Any], decimals: int = DECIMALS) -> str:
    """A metric over seeds as `mean ± sd (n)`; one seed's plain value; n/a with none."""
    if not entry["n"]:
        return "n/a"
    if entry["n"] == 1:
        return f"{entry['mean']:.{decimals}f}"
    return f"{entry['mean']:.{decimals}f} ± {entry['sd']:.{decimals}f} ({entry['n']})"


def learned_sentence(summary: Mapping[str, Any]) -> str:
    """'k of n seeds learned more than the majority class' (seed, not seeds, with one)."""
    return (
        f"{summary['learned']} of {seed_count(summary['n'])} learned more than the majority class"
    )


def seed_count(n: int) -> str:
    """'1 seed', '3 seeds'."""
    return f"{n} seed{'' if n == 1 else 's'}"
