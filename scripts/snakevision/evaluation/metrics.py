"""Segmentation and classification metrics from confusion matrices (pure numpy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakevision.labels import TRIMAP_CLASSES
from snakevision.models.tasks import TASKS


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Count (truth, prediction) pairs: int64 (num_classes, num_classes), rows = truth."""
    true = np.asarray(y_true).reshape(-1).astype(np.int64)
    pred = np.asarray(y_pred).reshape(-1).astype(np.int64)
    # One bincount over combined indices is much faster than np.add.at on big masks.
    counts = np.bincount(true * num_classes + pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


class ConfusionAccumulator:
    """Sum confusion matrices over batches so evaluation never holds all predictions."""

    def __init__(self, num_classes: int) -> None:
        """Start from an all-zero matrix."""
        self.num_classes = num_classes
        self._matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
        self.num_images = 0

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Add one batch; the leading axis counts images (masks (B, H, W) or labels (B,))."""
        self._matrix += confusion_matrix(y_true, y_pred, self.num_classes)
        self.num_images += len(y_true)

    @property
    def matrix(self) -> np.ndarray:
        """Return a copy of the counts so far (rows = truth)."""
        return self._matrix.copy()


def _iou(cm: np.ndarray) -> list[float | None]:
    """Per-class IoU TP/(TP+FP+FN); None for a class absent from both truth and prediction."""
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(axis=0) + cm.sum(axis=1) - np.diag(cm)
    return [float(t / u) if u else None for t, u in zip(tp, union)]


def segmentation_metrics(cm: Any, class_names: Sequence[str] = TRIMAP_CLASSES) -> dict[str, Any]:
    """Pixel accuracy, per-class and mean IoU, recall and class frequencies from a confusion matrix.

    A class absent from both truth and prediction has no defined IoU: it is reported as None
    (null in JSON) and left out of `mean_iou`, rather than counted as 0 or 1. Class 0 is the
    foreground (pet), so `foreground_iou` is `iou[class_names[0]]`.
    """
    cm = np.asarray(cm, dtype=np.int64)
    total = int(cm.sum())
    truth = cm.sum(axis=1)
    ious = _iou(cm)
    present = [v for v in ious if v is not None]
    return {
        "pixel_accuracy": float(np.trace(cm) / total),
        "mean_iou": float(np.mean(present)),
        "iou": dict(zip(class_names, ious)),
        "foreground_iou": ious[0],
        # Recall per class: TP / truth pixels; None where the class never occurs in the truth.
        "recall": {
            name: float(cm[i, i] / truth[i]) if truth[i] else None
            for i, name in enumerate(class_names)
        },
        "class_frequency": {name: float(truth[i] / total) for i, name in enumerate(class_names)},
        "num_pixels": total,
        "confusion_matrix": cm.tolist(),
    }


def per_image_iou(y_true: Any, y_pred: Any, num_classes: int) -> float:
    """Mean IoU of one image over the classes present in its truth or prediction."""
    ious = _iou(confusion_matrix(y_true, y_pred, num_classes))
    return float(np.mean([v for v in ious if v is not None]))


def majority_baseline(cm: Any, class_names: Sequence[str] = TRIMAP_CLASSES) -> dict[str, Any]:
    """Segmentation metrics of predicting the most frequent true class for every pixel."""
    cm = np.asarray(cm, dtype=np.int64)
    truth = cm.sum(axis=1)
    majority = int(np.argmax(truth))
    baseline = np.zeros_like(cm)
    baseline[:, majority] = truth
    return {
        **segmentation_metrics(baseline, class_names),
        "majority_class": class_names[majority],
    }


def classification_metrics(labels: Any, scores: Any, threshold: float = 0.5) -> dict[str, Any]:
    """Accuracy, ROC AUC and 2x2 confusion matrix (rows truth 0 cat / 1 dog) of sigmoid scores.

    A score counts as dog when it is strictly greater than `threshold`, as Keras'
    `binary_accuracy` does, so `accuracy` matches the training history.
    """
    # Deferred so that importing this module (e.g. for plots) does not load scikit-learn.
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(labels).reshape(-1).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)  # Keras predicts (N, 1)
    if not np.isfinite(scores).all():  # a model whose training diverged
        raise ValueError("scores contain NaN or infinity")
    pred = (scores > threshold).astype(np.int64)
    return {
        "accuracy": float(np.mean(pred == truth)),
        "auc": float(roc_auc_score(truth, scores)),
        "confusion_matrix": confusion_matrix(truth, pred, 2).tolist(),
        "num_images": int(truth.size),
        "threshold": float(threshold),
    }


def task_of(scores: Mapping[str, Any], source: object = "metrics.json") -> str:
    """The task a metrics.json belongs to, told by its keys (mean_iou or accuracy)."""
    if "mean_iou" in scores:
        return "segmentation"
    if "accuracy" in scores:
        return "classification"
    raise ValueError(
        f"{source} has neither 'mean_iou' (segmentation) nor 'accuracy' (classification): "
        "it is not a metrics.json that evaluation wrote; rerun its evaluation"
    )


def reported_scores(
    scores: Mapping[str, Any], source: object = "metrics.json"
) -> dict[str, float | None]:
    """A metrics.json's reported metrics, class IoUs flattened (iou_pet...); None if undefined."""
    flat = {**scores, **{f"iou_{name}": value for name, value in scores.get("iou", {}).items()}}
    wanted = TASKS[task_of(scores, source)].metrics
    if missing := [metric for metric in wanted if metric not in flat]:
        raise ValueError(f"{source} lacks {missing}: it predates this code; rerun its evaluation")
    return {metric: flat[metric] for metric in wanted}


def majority_score(scores: Mapping[str, Any]) -> float:
    """The main metric had the model predicted the most common true class everywhere.

    From the confusion matrix (rows = truth): segmentation's mean IoU of the all-majority mask
    (majority_baseline, as evaluation reports it), classification's larger class share.
    """
    cm = np.asarray(scores["confusion_matrix"], dtype=np.int64)
    if task_of(scores) == "segmentation":
        return majority_baseline(cm)["mean_iou"]
    return float(cm.sum(axis=1).max() / cm.sum())
