"""Build a trained model by name, importing only its own task's builders.

Rule train declares that module as an input beside the script's static imports (rules/
common.smk), so editing the classifiers' builders retrains no segmentation model, and a new
catalog entry retrains nothing.
"""

import importlib

import keras

from snakevision.labels import TRIMAP_CLASSES


def builders(task: str) -> dict:
    """The task's builders by name (models.segmentation or models.classification)."""
    return importlib.import_module(f"snakevision.models.{task}").BUILDERS


def build(task: str, name: str, image_size: int, seed: int | None = None) -> keras.Model:
    """The model for image_size x image_size pictures; seed seeds a classifier's augmentation."""
    if task == "segmentation":
        return builders(task)[name](image_size, num_classes=len(TRIMAP_CLASSES))
    return builders(task)[name](image_size, seed=seed)
