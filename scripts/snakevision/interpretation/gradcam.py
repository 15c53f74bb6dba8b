"""Grad-CAM: where in the picture the evidence for a class lies (book, 9.4.3)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import keras
import matplotlib
import numpy as np
from keras import ops
from PIL import Image

from snakevision.interpretation.gradients import value_and_grad
from snakevision.interpretation.layers import ends_in_output, gradcam_layer, layer_named

log = logging.getLogger(__name__)

ALPHA = 0.4  # the heatmap's weight over the picture in the overlay
MIN_SIDE = 256  # heatmap.png is upscaled by a whole factor to at least this many pixels


@dataclass
class Explanation:
    """A Grad-CAM heatmap in [0, 1], the model's class probabilities, the class explained."""

    heatmap: np.ndarray  # (h, w) of the explained layer's feature map
    probabilities: np.ndarray  # one per class (cat, dog for a sigmoid output)
    explained: int  # index of the class whose score the heatmap explains
    layer: str


def as_float(image: np.ndarray) -> np.ndarray:
    """Our classifiers' preprocessing: none (they rescale pixels 0..255 themselves)."""
    return image.astype("float32")


def _head(model: keras.Model, layer: keras.Layer, key: str) -> keras.Model:
    """The layers after `layer` as a model of its output (the book's classifier_model).

    The output must follow from the layer's output alone: a residual block's add, not a
    layer inside the block, whose shortcut bypasses it.
    """
    if not ends_in_output(model, layer):
        raise ValueError(
            f"{key}: {model.name}'s output does not follow from {layer.name} alone (a shortcut "
            "bypasses it); name a layer between blocks, such as a residual add, or leave the "
            "key out for the default"
        )
    return keras.Model(layer.output, model.output)


def probabilities(outputs: np.ndarray) -> np.ndarray:
    """Class probabilities of one output row: a sigmoid's p becomes (1 - p, p)."""
    outputs = np.asarray(outputs, dtype="float64").reshape(-1)
    return np.array([1 - outputs[0], outputs[0]]) if outputs.size == 1 else outputs


def explain(
    model: keras.Model, image: np.ndarray, layer_name: str | None = None, key: str = "layer"
) -> Explanation:
    """Grad-CAM of the predicted class for one preprocessed image (h, w, 3).

    The score is the predicted class's probability: for a sigmoid, p for dog and 1 - p for
    cat, so that the map shows the evidence for what the model says either way. layer_name
    (from config, at key) chooses the feature map; by default the last one of at least 7x7
    (layers.gradcam_layer).
    """
    layer = layer_named(model, layer_name, key) if layer_name else gradcam_layer(model)
    features = keras.Model(model.input, layer.output)(image[None].astype("float32"), training=False)
    head = _head(model, layer, key)
    probs = probabilities(ops.convert_to_numpy(head(features, training=False)))
    explained = int(np.argmax(probs))
    sigmoid = head.output.shape[-1] == 1

    def score(features):
        output = ops.cast(head(features, training=False), "float32")[0]
        if sigmoid:
            return output[0] if explained == 1 else 1.0 - output[0]
        return output[explained]

    _, grads = value_and_grad(score, features)
    features = np.asarray(ops.convert_to_numpy(features), dtype="float64")[0]
    weights = np.asarray(ops.convert_to_numpy(grads), dtype="float64")[0].mean(axis=(0, 1))
    heatmap = np.maximum((features * weights).mean(axis=-1), 0)
    peak = heatmap.max()
    # No positive evidence anywhere: an all-zero map, not a division by zero.
    heatmap = heatmap / peak if peak > 0 else heatmap
    return Explanation(heatmap, probs, explained, layer.name)


def heatmap_image(heatmap: np.ndarray, min_side: int = MIN_SIDE) -> np.ndarray:
    """The raw heatmap in viridis, each cell a block of pixels (nearest neighbours), uint8."""
    factor = max(1, math.ceil(min_side / min(heatmap.shape)))
    colours = matplotlib.colormaps["viridis"](heatmap)[..., :3]
    cells = np.uint8(np.round(colours * 255))
    return np.repeat(np.repeat(cells, factor, axis=0), factor, axis=1)


def overlay(picture: np.ndarray, heatmap: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The book's superimposition: jet heatmap resized to the picture, alpha * it + picture.

    As the book's array_to_img does, the sum is rescaled to fill 0..255.
    """
    jet = matplotlib.colormaps["jet"](np.uint8(np.round(255 * heatmap)))[..., :3]
    jet = Image.fromarray(np.uint8(np.round(jet * 255)))
    jet = jet.resize((picture.shape[1], picture.shape[0]), Image.Resampling.BILINEAR)
    mixed = np.asarray(jet, dtype="float64") * alpha + picture
    mixed -= mixed.min()
    return np.uint8(np.round(mixed / max(mixed.max(), 1e-12) * 255))


def top_classes(probs: np.ndarray, names: list[str], k: int) -> list[dict]:
    """The k most probable classes, most probable first."""
    order = np.argsort(probs)[::-1][:k]
    return [{"class": names[i], "index": int(i), "probability": float(probs[i])} for i in order]


def write(
    folder: Path, picture: Image.Image, explanation: Explanation, names: list[str], top: int
) -> None:
    """heatmap.png, overlay.jpg (at the picture's own resolution) and predictions.json."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(heatmap_image(explanation.heatmap)).save(folder / "heatmap.png")
    mixed = overlay(np.asarray(picture), explanation.heatmap)
    Image.fromarray(mixed).save(folder / "overlay.jpg", quality=90)
    probs = explanation.probabilities
    chosen = explanation.explained
    predictions = {
        "layer": explanation.layer,
        "explained": {"class": names[chosen], "index": chosen, "probability": probs[chosen]},
        "top": top_classes(probs, names, top),
    }
    (folder / "predictions.json").write_text(json.dumps(predictions, indent=2, default=float))
    log.info(
        "%s: %s (%.3f), layer %s", folder.name, names[chosen], probs[chosen], explanation.layer
    )
