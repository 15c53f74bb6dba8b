"""The ImageNet Xception of the book's filter and Grad-CAM sections: its files, its classes.

Keras is imported where a model is built: the Snakefile reads FILES on every snakemake run.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import keras
    import numpy as np

# Where Keras 3.15 fetches the Xception's files, and their MD5 (get_file's file_hash).
FILES = {
    "weights": {
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
        "xception_weights_tf_dim_ordering_tf_kernels.h5",
        "md5": "0a58e3b7378bc2990ea3b43d5981f1f6",
    },
    "class_index": {
        "url": "https://storage.googleapis.com/download.tensorflow.org/data/"
        "imagenet_class_index.json",
        "md5": "c2c37ea517e94d9795004a39431a14cb",
    },
}
# File name -> the URL and MD5 of each (rule fetch_imagenet's {file}).
DOWNLOADS = {PurePosixPath(urlsplit(f["url"]).path).name: f for f in FILES.values()}


def load(weights: Path, key: str) -> keras.Model:
    """Xception with its classifier top and the weights in the file; errors name key and file."""
    import keras

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
    import keras

    base = keras.applications.Xception(weights=None, include_top=False, input_shape=(size, size, 3))
    # Same builder, same layer order; the top's pooling and dense layers come last.
    for target, source in zip(base.layers, model.layers):
        target.set_weights(source.get_weights())
    return base


def preprocess(image: np.ndarray) -> np.ndarray:
    """Xception's own preprocess_input (pixels 0..255 to -1..1), on a float32 copy."""
    import keras

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
