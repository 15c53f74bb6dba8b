"""Evaluate trained models batch by batch on a held-out split."""

from __future__ import annotations

import keras
import numpy as np

from snakevision.data.batches import predict
from snakevision.evaluation.metrics import (
    ConfusionAccumulator,
    classification_metrics,
    majority_baseline,
    per_image_iou,
    segmentation_metrics,
)
from snakevision.models.tasks import SEGMENTATION, TASKS

CLASSES = TASKS[SEGMENTATION].num_classes


def segmentation(
    model: keras.Model, images: np.ndarray, masks: np.ndarray, batch_size: int
) -> dict:
    """Pixel accuracy and IoUs from confusion counts accumulated over batches."""
    counts = ConfusionAccumulator(CLASSES)
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


def gallery(
    models: dict[str, keras.Model], images: np.ndarray, masks: np.ndarray, plot: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[np.ndarray, list[float]]]]:
    """The images a mask gallery shows, their true masks, and each model's masks with IoUs.

    plot's num_images images (at most all) drawn by its seed: every model's gallery and the
    comparison of models show the same ones. Each model maps to its (N, H, W) predicted labels
    and their per-image mean IoUs.
    """
    count = min(plot["num_images"], len(images))
    rows = np.sort(np.random.default_rng(plot["seed"]).choice(len(images), count, replace=False))
    shown, truth = np.asarray(images[rows]), np.asarray(masks[rows, ..., 0])
    predicted = {}
    for name, model in models.items():
        labels = model.predict(shown, verbose=0).argmax(axis=-1)
        ious = [per_image_iou(t, p, CLASSES) for t, p in zip(truth, labels, strict=True)]
        predicted[name] = (labels, ious)
    return shown, truth, predicted


# Each task's evaluation.
EVALUATE = {"segmentation": segmentation, "classification": classifier}
