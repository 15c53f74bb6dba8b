"""Every fact about a task that the rules, training, evaluation and the report read, by name.

Keras-free, beside the model catalog: the Snakefile imports it on every snakemake run. A task's
arrays, the split it is scored on, its labels, the metrics its reports show and the section of
the report its files go to are stated here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from snakevision.labels import SPECIES, TRIMAP_CLASSES

SEGMENTATION, CLASSIFICATION = "segmentation", "classification"
# How tables and figures name each split (split.csv and file names use the short names).
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
DECIMALS = 3  # of every metric a table, figure or the front page shows
# How tables and figures name the metrics (metrics.json and CSV columns use the short names).
METRIC_NAMES = {
    "pixel_accuracy": "pixel accuracy",
    "mean_iou": "mean IoU",
    "foreground_iou": "foreground IoU",
    "accuracy": "accuracy",
    "auc": "ROC AUC",
}


@dataclass(frozen=True)
class Task:
    """One task: its data, the split it is scored on, its labels and the metrics reports show."""

    name: str
    splits: tuple[str, ...]  # the splits of its data, each an images array and a truth array
    evaluated_on: str  # the held-out split metrics.json scores
    truth: str  # the array beside the images: masks (N, H, W, 1) or labels (N,)
    labels: tuple[str, ...]  # class names, by label value
    metrics: tuple[str, ...]  # reported metrics, flat names of metrics.json, in table order
    main: str  # the metric that ranks: curves, the seeds figure, "learned"
    shown: tuple[str, ...]  # the reported metrics the front page's table shows
    category: str  # the report's section of its files

    @property
    def num_classes(self) -> int:
        """How many classes its models predict."""
        return len(self.labels)

    @property
    def evaluated_name(self) -> str:
        """The scored split as tables name it ('validation', 'test')."""
        return SPLIT_NAMES[self.evaluated_on]

    def arrays(self, split: str, folder: str) -> dict[str, str]:
        """A split's arrays: {'images': <folder>/<split>_images.npy, 'truth': ...masks.npy}."""
        if split not in self.splits:
            raise KeyError(f"{self.name} has no {split!r} split; its splits: {self.splits}")
        return {role: f"{folder}/{split}_{kind}.npy" for role, kind in self.kinds.items()}

    @property
    def kinds(self) -> dict[str, str]:
        """Role -> the array kind in file names: images, and masks or labels."""
        return {"images": "images", "truth": self.truth}

    def files(self, splits: tuple[str, ...], folder: str) -> dict[str, str]:
        """'<split>_images' and '<split>_truth' -> its array in folder, for each split."""
        return {
            f"{split}_{role}": path
            for split in splits
            for role, path in self.arrays(split, folder).items()
        }


TASKS: dict[str, Task] = {
    SEGMENTATION: Task(
        SEGMENTATION,
        splits=("train", "val"),
        evaluated_on="val",
        truth="masks",
        labels=TRIMAP_CLASSES,
        metrics=("pixel_accuracy", "mean_iou", "foreground_iou")
        + tuple(f"iou_{name}" for name in TRIMAP_CLASSES),
        main="mean_iou",
        shown=("pixel_accuracy", "mean_iou", "foreground_iou"),
        category="2. Segmentation",
    ),
    CLASSIFICATION: Task(
        CLASSIFICATION,
        splits=("train", "val", "test"),
        evaluated_on="test",
        truth="labels",
        labels=SPECIES,
        metrics=("accuracy", "auc"),
        main="accuracy",
        shown=("accuracy", "auc"),
        category="3. Classification",
    ),
}


def metric_name(metric: str) -> str:
    """A metric as tables name it: 'mean IoU', 'iou_pet' as 'IoU pet'."""
    if metric.startswith("iou_"):
        return f"IoU {metric.removeprefix('iou_')}"
    return METRIC_NAMES.get(metric, metric.replace("_", " "))
