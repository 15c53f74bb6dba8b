"""The workflow's figures: data overview, training curves, mask galleries; atomic files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from snakevision.figures import CLASS_COLOURS, OVERLAY_ALPHA, figure
from snakevision.labels import TRIMAP_CLASSES

TRAIN_COLOUR, VAL_COLOUR = "#1f77b4", "#d62728"


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
