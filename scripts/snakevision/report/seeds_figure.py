"""The seeds figure of a task (rule compare): each seed's score per model and its loss curves."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from snakevision.evaluation.spread import format_spread, seed_count
from snakevision.figures import figure


def _mean_curve(histories: Mapping[str, pd.DataFrame], column: str) -> pd.Series:
    """Mean of a history column over seeds, per epoch that every seed ran (NaN if one diverged)."""
    per_seed = {seed: h.set_index("epoch")[column] for seed, h in histories.items()}
    return pd.concat(per_seed, axis=1, join="inner").mean(axis=1, skipna=False)


@dataclass(frozen=True)
class ModelSeeds:
    """What the seeds figure shows of one model: its column of dots and its panel of curves."""

    model: str
    points: list[tuple[float, str, float]]  # (x, seed, value) of each seed with a value
    mean: float | None  # the black bar: the mean over seeds
    majority: float  # the dotted bar: the majority class everywhere (the highest seed's)
    book: float | None  # the dashed red bar: the book's figure
    tick: str  # the text under the model's column
    losses: dict[str, pd.DataFrame]  # seed -> its history's epoch, loss, val_loss
    mean_losses: dict[str, pd.Series]  # loss, val_loss -> mean per epoch (empty: no history)
    title: str  # of the model's loss panel


@dataclass(frozen=True)
class SeedsFigure:
    """Everything draw() draws, computed apart from the drawing so tests can read it."""

    task: str
    label: str  # the main metric, as the axis names it
    split: str
    seeds: list[str]  # every seed of any model, in order: the colours follow this order
    models: list[ModelSeeds]
    title: str


def figure_values(
    summaries: Mapping[str, Mapping[str, Any]],
    histories: Mapping[str, Mapping[Any, pd.DataFrame]],
    book: Mapping[str, float | None],
) -> SeedsFigure:
    """The dots, bars, curves and labels of one task's seeds figure (see draw)."""
    first = next(iter(summaries.values()))
    metric = first["main_metric"]
    label = metric.replace("_iou", " IoU").replace("_", " ")
    names = sorted({str(s) for summary in summaries.values() for s in summary["seeds"]}, key=int)
    models = []
    for x, (model, summary) in enumerate(summaries.items()):
        entry = summary["metrics"][metric]
        values = entry["values"]
        offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
        runs = {str(seed): h for seed, h in histories.get(model, {}).items()}
        columns = ["epoch", "loss", "val_loss"]
        models.append(
            ModelSeeds(
                model=model,
                points=[
                    (x + float(dx), seed, value)
                    for dx, (seed, value) in zip(offsets, values.items())
                    if value is not None
                ],
                mean=entry["mean"],
                majority=max(summary["majority_score"].values()),
                book=book.get(model),
                tick=f"{model}\n{format_spread(entry)}\n"
                f"{summary['learned']} of {summary['n']} learned",
                losses={seed: h[columns] for seed, h in runs.items()},
                mean_losses={c: _mean_curve(runs, c) for c in columns[1:]} if runs else {},
                title=f"{model}: loss of {seed_count(len(runs))}",
            )
        )
    title = f"{first['task'].capitalize()}: each seed's {label} and its loss curves"
    return SeedsFigure(
        task=first["task"],
        label=label,
        split=first["split"],
        seeds=names,
        models=models,
        title=f"{title} ({seed_count(len(names))})",
    )


def draw(
    summaries: Mapping[str, Mapping[str, Any]],
    histories: Mapping[str, Mapping[Any, pd.DataFrame]],
    book: Mapping[str, float | None],
    path: str | os.PathLike[str],
) -> None:
    """One task's models over seeds: left each seed's main metric, right the loss curves.

    summaries: model -> its summary.json (spread.summary); histories: model -> seed -> its
    history.csv; book: model -> the book's figure of the main metric, or None. A seed keeps its
    colour in both panels, so a seed that learned nothing can be found among the curves.
    """
    shown = figure_values(summaries, histories, book)
    n = len(shown.models)
    colour = {seed: matplotlib.colormaps["tab10"](i % 10) for i, seed in enumerate(shown.seeds)}
    with figure(path, figsize=(4.5 + 4 * n, 5.2)) as fig:
        grid = fig.add_gridspec(1, 1 + n, width_ratios=[1.3] + [1] * n)
        left = fig.add_subplot(grid[0, 0])
        for x, model in enumerate(shown.models):
            for px, seed, value in model.points:
                left.plot(px, value, "o", color=colour[seed], markersize=7, zorder=3)
            if model.mean is not None:
                left.hlines(model.mean, x - 0.25, x + 0.25, color="black", linewidth=2.5, zorder=2)
            dotted = {"color": "grey", "linestyle": ":", "linewidth": 1.5}
            left.hlines(model.majority, x - 0.35, x + 0.35, **dotted)
            if model.book is not None:
                left.hlines(model.book, x - 0.35, x + 0.35, color="#d62728", linestyle="--")
        left.set_xticks(range(n), [m.tick for m in shown.models], fontsize=8)
        left.set_xlim(-0.6, n - 0.4)
        left.set_ylabel(f"{shown.label} ({shown.split} split)")
        left.set_title(f"{shown.label} of each seed", fontsize=10)
        left.grid(axis="y", alpha=0.3)
        marks = [
            Line2D([], [], color="black", linewidth=2.5, label="mean over seeds"),
            Line2D([], [], color="grey", linestyle=":", label="majority class everywhere"),
        ]
        if any(m.book is not None for m in shown.models):
            marks.append(Line2D([], [], color="#d62728", linestyle="--", label="the book's figure"))
        else:  # say so, rather than leave the reader looking for a mark
            marks.append(Line2D([], [], color="none", label="the book publishes no figure"))
        axes = [fig.add_subplot(grid[0, 1])]
        axes += [fig.add_subplot(grid[0, i], sharey=axes[0]) for i in range(2, 1 + n)]
        for ax, model in zip(axes, shown.models):
            for seed, h in model.losses.items():
                thin = {"color": colour[seed], "linewidth": 0.9}
                ax.plot(h["epoch"], h["val_loss"], alpha=0.8, **thin)
                ax.plot(h["epoch"], h["loss"], alpha=0.5, ls="--", **thin)
            for column, style in [("val_loss", "-"), ("loss", "--")]:
                if column in model.mean_losses:
                    mean = model.mean_losses[column]
                    ax.plot(mean.index, mean.to_numpy(), color="black", linewidth=2.2, ls=style)
            ax.set_title(model.title, fontsize=10)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("loss")
        curves = [
            Line2D([], [], color="black", linewidth=2.2, label="validation loss, mean"),
            Line2D([], [], color="black", linewidth=2.2, ls="--", label="training loss, mean"),
            Line2D([], [], color="grey", linewidth=0.9, label="one seed's loss (thin)"),
        ]
        dots = [Line2D([], [], color=colour[s], marker="o", label=f"seed {s}") for s in shown.seeds]
        # Below the panels, so no key hides a dot or a curve.
        fig.legend(
            handles=marks + curves + dots,
            loc="lower center",
            ncol=min(len(marks + curves + dots), 6),
            fontsize=8,
            frameon=False,
        )
        fig.suptitle(shown.title)
        rows = -(-len(marks + curves + dots) // 6)
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.17 + 0.035 * rows, wspace=0.3)
