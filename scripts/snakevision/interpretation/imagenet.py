"""The ImageNet Xception of the book's filter and Grad-CAM sections, and its class names."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np


def load(weights: Path, key: str) -> keras.Model:
    """Xception with its classifier top and the weights in the file; errors name key and file."""
    try:
        return keras.applications.Xception(weights=str(weights))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{key}: {weights} does not hold the ImageNet Xception's weights with its top "
            f"({type(exc).__name__}: {exc}); give xception_weights_tf_dim_ordering_tf_kernels.h5"
            ", or set the key to download or none"
        ) from exc


def without_top(model: keras.Model, size: int) -> keras.Model:
    """The convolutional base of model at another input size, sharing its weights' values."""
    base = keras.applications.Xception(weights=None, include_top=False, input_shape=(size, size, 3))
    # Same builder, same layer order; the top's pooling and dense layers come last.
    for target, source in zip(base.layers, model.layers):
        target.set_weights(source.get_weights())
    return base


def preprocess(image: np.ndarray) -> np.ndarray:
    """Xception's own preprocess_input (pixels 0..255 to -1..1), on a float32 copy."""
    # preprocess_input scales a float array in place: astype copies, so the caller's stays.
    return keras.applications.xception.preprocess_input(image.astype("float32"))


def class_names(path: Path, key: str, count: int = 1000) -> list[str]:
    """The class names of imagenet_class_index.json ({"0": ["n01440764", "tench"], ...})."""
    try:
        index = json.loads(Path(path).read_text())
        names = [index[str(i)][1] for i in range(count)]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(
            f"{key}: {path} is not an ImageNet class index with {count} classes ({exc}); it "
            'maps "0".."999" to [wordnet id, name], as imagenet_class_index.json does'
        ) from exc
    return names
