"""Segmentation and classification metrics from confusion matrices (pure numpy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Mask values 0, 1, 2 are the trimap's 1, 2, 3 minus one.
SEGMENTATION_CLASSES: tuple[str, ...] = ("pet", "background", "border")
CLASSIFICATION_CLASSES: tuple[str, ...] = ("cat", "dog")  # labels 0 and 1, the species


def _as_labels(array: Any, num_classes: int, name: str) -> np.ndarray:
    """Return `array` as flat int64 labels; ValueError names any value outside the classes."""
    array = np.asarray(array)
    if array.dtype.kind not in "biu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {array.dtype}")
    flat = array.reshape(-1).astype(np.int64)
    bad = flat[(flat < 0) | (flat >= num_classes)]
    if bad.size:
        raise ValueError(
            f"{name} holds label {int(bad[0])} outside 0..{num_classes - 1} "
            f"(distinct bad values: {np.unique(bad)[:10].tolist()})"
        )
    return flat


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Count (truth, prediction) pairs: int64 (num_classes, num_classes), rows = truth."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    shape_true, shape_pred = np.shape(y_true), np.shape(y_pred)
    if shape_true != shape_pred:
        raise ValueError(
            f"y_true shape {shape_true} != y_pred shape {shape_pred} "
            "(squeeze a trailing mask channel or take argmax of scores first)"
        )
    true = _as_labels(y_true, num_classes, "y_true")
    pred = _as_labels(y_pred, num_classes, "y_pred")
    # One bincount over combined indices is much faster than np.add.at on big masks.
    counts = np.bincount(true * num_classes + pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


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
        self.num_images += int(np.shape(y_true)[0]) if np.ndim(y_true) else 1

    @property
    def matrix(self) -> np.ndarray:
        """Return a copy of the counts so far (rows = truth)."""
        return self._matrix.copy()


def _iou(cm: np.ndarray) -> list[float | None]:
    """Per-class IoU TP/(TP+FP+FN); None for a class absent from both truth and prediction."""
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(axis=0) + cm.sum(axis=1) - np.diag(cm)
    return [float(t / u) if u else None for t, u in zip(tp, union)]


def _check_cm(cm: Any, num_names: int | None = None) -> np.ndarray:
    """Validate a square, non-negative, non-empty confusion matrix."""
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    if num_names is not None and cm.shape[0] != num_names:
        raise ValueError(f"confusion matrix has {cm.shape[0]} classes but {num_names} names")
    if (cm < 0).any():
        raise ValueError("confusion matrix has negative counts")
    if cm.sum() == 0:
        raise ValueError("confusion matrix is empty: no pixels were evaluated")
    return cm


def segmentation_metrics(
    cm: Any, class_names: Sequence[str] = SEGMENTATION_CLASSES
) -> dict[str, Any]:
    """Pixel accuracy, per-class and mean IoU, recall and class frequencies from a confusion matrix.

    A class absent from both truth and prediction has no defined IoU: it is reported as None
    (null in JSON) and left out of `mean_iou`, rather than counted as 0 or 1. Class 0 is the
    foreground (pet), so `foreground_iou` is `iou[class_names[0]]`.
    """
    cm = _check_cm(cm, len(class_names))
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
    ious = _iou(_check_cm(confusion_matrix(y_true, y_pred, num_classes)))
    return float(np.mean([v for v in ious if v is not None]))


def majority_baseline(cm: Any, class_names: Sequence[str] = SEGMENTATION_CLASSES) -> dict[str, Any]:
    """Segmentation metrics of predicting the most frequent true class for every pixel."""
    cm = _check_cm(cm, len(class_names))
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
    `binary_accuracy` does, so `accuracy` matches the training history. When the labels hold
    one class only, ROC AUC is undefined: `auc` is None and `auc_note` says why.
    """
    # Deferred so that importing this module (e.g. for plots) does not load scikit-learn.
    from sklearn.metrics import roc_auc_score

    scores = np.asarray(scores, dtype=np.float64)
    labels_arr = np.asarray(labels)
    # Keras predicts (N, 1) for a Dense(1) head; accept that beside (N,).
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1 or labels_arr.shape != scores.shape:
        raise ValueError(f"labels shape {labels_arr.shape} does not match scores {scores.shape}")
    if scores.size == 0:
        raise ValueError("no images to evaluate: labels and scores are empty")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity")
    truth = _as_labels(labels_arr, 2, "labels")
    pred = (scores > threshold).astype(np.int64)
    result: dict[str, Any] = {
        "accuracy": float(np.mean(pred == truth)),
        "auc": None,
        "confusion_matrix": confusion_matrix(truth, pred, 2).tolist(),
        "num_images": int(truth.size),
        "threshold": float(threshold),
    }
    present = np.unique(truth)
    if present.size == 2:
        result["auc"] = float(roc_auc_score(truth, scores))
    else:
        only = CLASSIFICATION_CLASSES[int(present[0])]
        result["auc_note"] = f"ROC AUC undefined: labels hold only one class ({only})"
    return result
