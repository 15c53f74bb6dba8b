"""Figures of the workflow (matplotlib, Agg); each writes its file atomically."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from snakevision.files import atomic
from snakevision.labels import TRIMAP_CLASSES
from snakevision.spread import format_spread, seeds

# Agg before pyplot: jobs run headless (cluster nodes, CI) and must never try to open a window.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (must follow matplotlib.use)

DPI = 100
# Overlay colours per mask class (pet, background, border), drawn semi-transparent.
CLASS_COLOURS = ("#ff7f0e", "#1f77b4", "#ffe119")
OVERLAY_ALPHA = 0.45
TRAIN_COLOUR, VAL_COLOUR = "#1f77b4", "#d62728"


@contextmanager
def figure(path: str | os.PathLike[str], **kwargs: Any) -> Iterator[Figure]:
    """Yield a new figure, then save it to `path` atomically; always close it.

    If drawing or saving fails, neither `path` nor a temp file is left behind, so Snakemake
    never sees a half-written figure as done.
    """
    fig = plt.figure(**kwargs)
    try:
        yield fig
        with atomic(Path(path)) as tmp:  # same name ending: savefig picks the format from it
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)


def _labels(masks: Any) -> np.ndarray:
    """Masks as (N, H, W) labels 0..2, without a trailing channel axis of size 1."""
    masks = np.asarray(masks)
    return masks[..., 0] if masks.ndim == 4 else masks


def _mark_best(ax: Any, epochs: pd.Series, val_loss: pd.Series) -> None:
    """Mark and annotate the epoch with the lowest validation loss (what checkpointing keeps)."""
    if val_loss.isna().all():
        return
    best = val_loss.idxmin()
    x, y = epochs[best], val_loss[best]
    ax.axvline(x, color="grey", linestyle=":", linewidth=1)
    ax.plot([x], [y], marker="o", color=VAL_COLOUR, markersize=7, zorder=3)
    ax.annotate(
        f"best epoch {x:g}\nval_loss {y:.4g}",
        xy=(x, y),
        xytext=(0, 32),
        textcoords="offset points",
        arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.8},
        ha="center",
        fontsize=8,
        bbox={
            "boxstyle": "round",
            "facecolor": "white",
            "alpha": 0.8,
            "linewidth": 0.5,
        },
    )


def _curve(ax: Any, history: pd.DataFrame, metric: str, mark_best: bool) -> None:
    """Draw training and validation `metric` per epoch on `ax`."""
    epochs = history["epoch"]
    ax.plot(epochs, history[metric], color=TRAIN_COLOUR, label=f"training {metric}")
    ax.plot(epochs, history[f"val_{metric}"], color=VAL_COLOUR, label=f"validation {metric}")
    if mark_best:
        _mark_best(ax, epochs, history["val_loss"])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def overview(images: Any, masks: Any, counts: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Grid of sample images beside their trimaps, plus a bar chart of the species balance.

    masks are (N, H, W[, 1]) labels 0..2 (pet, background, border), shown in grey levels as in
    the book (pet black, background grey, border white). counts: images per species (index)
    and split (columns), drawn as grouped bars.
    """
    labels = _labels(masks)
    n = len(images)
    with figure(path, figsize=(10, max(3.0, 2.2 * n))) as fig:
        # Nested grids: tight spacing between image and trimap, room for the bar chart's axis.
        outer = fig.add_gridspec(1, 2, width_ratios=[2, 1.4], wspace=0.3)
        pairs = outer[0, 0].subgridspec(n, 2, wspace=0.05, hspace=0.15)
        for i in range(n):
            ax = fig.add_subplot(pairs[i, 0])
            ax.imshow(images[i])
            ax.set_axis_off()
            ax2 = fig.add_subplot(pairs[i, 1])
            ax2.imshow(labels[i], cmap="gray", vmin=0, vmax=2, interpolation="nearest")
            ax2.set_axis_off()
            if i == 0:
                ax.set_title("image", fontsize=10)
                ax2.set_title("trimap", fontsize=10)
        ax2.text(
            0.5,
            -0.08,
            "trimap: pet black, background grey, border white",
            transform=ax2.transAxes,
            ha="center",
            va="top",
            fontsize=8,
        )
        bars = fig.add_subplot(outer[0, 1])
        counts.plot.bar(ax=bars, rot=0, legend=False)
        if counts.shape[1] > 1:
            bars.legend(title="split", fontsize=9)
        for container in bars.containers:
            bars.bar_label(container, fmt="{:,.0f}", fontsize=8)
        bars.set_title("class balance (images per species)", fontsize=10)
        bars.set_xlabel("")
        bars.set_ylabel("images")
        bars.margins(y=0.12)


def training_curves(
    history: pd.DataFrame, path: str | os.PathLike[str], metric: str, title: str
) -> None:
    """The task's metric and the loss per epoch (training vs validation), best val_loss marked."""
    with figure(path, figsize=(12, 4.5)) as fig:
        score, loss = fig.subplots(1, 2)
        _curve(score, history, metric, mark_best=False)
        # The checkpoint keeps the lowest val_loss, so show where that lands on the metric too.
        if not history["val_loss"].isna().all():
            score.axvline(history["epoch"][history["val_loss"].idxmin()], color="grey", ls=":")
        _curve(loss, history, "loss", mark_best=True)
        score.set_title(metric.replace("_iou", " IoU").replace("_", " "))
        loss.set_title("loss")
        fig.suptitle(title)


def mask_gallery(
    images: Any,
    true_masks: Any,
    predictions: dict[str, tuple[Any, Sequence[float]]],
    path: str | os.PathLike[str],
) -> None:
    """One row per image: input, true trimap, then each model's mask with its IoU on the image.

    predictions maps a model's name to its masks, (N, H, W) labels 0..2, and their per-image
    mean IoUs. With one model, its mask is also overlaid on the input.
    """
    truth = _labels(true_masks)
    overlay = len(predictions) == 1
    columns = 2 + len(predictions) + overlay
    n = len(truth)
    grey = dict(cmap="gray", vmin=0, vmax=2, interpolation="nearest")
    with figure(path, figsize=(3 * columns, 3.1 * n)) as fig:
        axes = np.asarray(fig.subplots(n, columns, squeeze=False))
        for i, row in enumerate(axes):
            row[0].imshow(images[i])
            row[0].set_title(f"image {i + 1}", fontsize=9)
            row[1].imshow(truth[i], **grey)
            row[1].set_title("true trimap", fontsize=9)
            for ax, (model, (masks, ious)) in zip(row[2:], predictions.items()):
                ax.imshow(_labels(masks)[i], **grey)
                ax.set_title(f"{model}: mean IoU {ious[i]:.3f}", fontsize=9)
            if overlay:
                (masks, _), ax = next(iter(predictions.values())), row[-1]
                ax.imshow(images[i])
                ax.imshow(
                    _labels(masks)[i],
                    cmap=ListedColormap(CLASS_COLOURS),
                    vmin=0,
                    vmax=2,
                    alpha=OVERLAY_ALPHA,
                    interpolation="nearest",
                )
                ax.set_title("overlay", fontsize=9)
            for ax in row:
                ax.set_axis_off()
        fig.subplots_adjust(top=1 - 0.9 / (3.1 * n), hspace=0.3, wspace=0.05)
        key = "masks: pet black, background grey, border white"
        if not overlay:
            fig.suptitle(key, x=axes[0, -1].get_position().x1, ha="right", fontsize=9)
            return
        fig.legend(
            handles=[
                Patch(facecolor=c, alpha=OVERLAY_ALPHA, label=name)
                for c, name in zip(CLASS_COLOURS, TRIMAP_CLASSES)
            ],
            # Flush with the last column and right-aligned, clear of the first row's titles.
            loc="upper right",
            ncol=3,
            bbox_to_anchor=(axes[0, -1].get_position().x1, 1.0),
            title=f"{key}; overlay colours:",
            fontsize=9,
            title_fontsize=9,
        )


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
    """Everything seeds_figure draws, computed apart from the drawing so tests can read it."""

    task: str
    label: str  # the main metric, as the axis names it
    split: str
    seeds: list[str]  # every seed of any model, in order: the colours follow this order
    models: list[ModelSeeds]
    title: str


def seeds_figure_values(
    summaries: Mapping[str, Mapping[str, Any]],
    histories: Mapping[str, Mapping[Any, pd.DataFrame]],
    book: Mapping[str, float | None],
) -> SeedsFigure:
    """The dots, bars, curves and labels of one task's seeds figure (see seeds_figure)."""
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
                title=f"{model}: loss of {seeds(len(runs))}",
            )
        )
    title = f"{first['task'].capitalize()}: each seed's {label} and its loss curves"
    return SeedsFigure(
        task=first["task"],
        label=label,
        split=first["split"],
        seeds=names,
        models=models,
        title=f"{title} ({seeds(len(names))})",
    )


def seeds_figure(
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
    shown = seeds_figure_values(summaries, histories, book)
    n = len(shown.models)
    colour = {seed: plt.get_cmap("tab10")(i % 10) for i, seed in enumerate(shown.seeds)}
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
