"""Evaluate trained models batch by batch on a held-out split."""

from __future__ import annotations

import keras
import numpy as np

from snakevision.batches import predict
from snakevision.metrics import (
    ConfusionAccumulator,
    classification_metrics,
    majority_baseline,
    segmentation_metrics,
)


def segmentation(
    model: keras.Model, images: np.ndarray, masks: np.ndarray, batch_size: int
) -> dict:
    """Pixel accuracy and IoUs from confusion counts accumulated over batches."""
    counts = ConfusionAccumulator(3)
    start = 0
    for probs in predict(model, images, batch_size):
        stop = start + len(probs)
        counts.update(np.asarray(masks[start:stop, ..., 0]), probs.argmax(axis=-1))
        start = stop
    metrics = segmentation_metrics(counts.matrix)
    baseline = majority_baseline(counts.matrix)
    return {
        **metrics,
        "num_images": counts.num_images,
        "majority_baseline": {
            k: baseline[k] for k in ("majority_class", "pixel_accuracy", "mean_iou")
        },
    }


def classifier(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int) -> dict:
    """Accuracy, ROC AUC and confusion matrix of a sigmoid classifier."""
    scores = np.concatenate([p.reshape(-1) for p in predict(model, images, batch_size)])
    return classification_metrics(np.asarray(labels), scores)
