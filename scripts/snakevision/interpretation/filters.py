"""Filter patterns: the input each filter responds to most, by gradient ascent (book, 9.4.2).

The book ascends one filter at a time; here each image of a batch ascends its own filter, one
gradient call per step for the whole batch, and each image's gradient is normalised on its
own, so a batch gives the same pictures as one filter at a time.

A relu filter that is 0 everywhere on its starting noise (dead there) has no gradient: its
picture stays the noise. The log counts such filters and the grid crosses their cells out.
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
from keras import ops
from PIL import Image

from snakevision.files import atomic
from snakevision.interpretation.gradients import compiled, value_and_grad
from snakevision.interpretation.layers import layer_named

log = logging.getLogger(__name__)

START = (0.4, 0.6)  # the book's noise: uniform grey around the middle of [0, 1]
BORDER = 2  # activation pixels left out of the loss at each edge (border artefacts)
CROP = 25 / 200  # the book crops 25 px of its 200 px pictures at each edge
MARGIN = 5  # black pixels between the patterns of the grid
CROSS = (2.5, 1.0)  # half-widths in px of a crossed-out cell's black line and its white core


def extractor(model: keras.Model, layer: str, key: str) -> keras.Model:
    """A model from the input to the named layer's output."""
    return keras.Model(model.input, layer_named(model, layer, key).output)


def _border(feature_extractor: keras.Model) -> int:
    """BORDER, or 0 for maps too small to lose it (a 3x3 map keeps its middle pixel only)."""
    height, width = feature_extractor.output.shape[1:3]
    return BORDER if min(height, width) > 2 * BORDER else 0


def mean_activations(
    feature_extractor: keras.Model, images, filters, scale: float = 1.0
) -> keras.KerasTensor:
    """Each image's loss: the mean activation of its own filter, without the border.

    images are in [0, 1] around the noise's range; scale maps them to the model's inputs
    (255 for our models, which rescale by 1/255 themselves; 1 for the ImageNet Xception,
    which the book feeds the noise as it is). filters is one-hot, one row per image.
    """
    activations = ops.cast(feature_extractor(images * scale, training=False), "float32")
    if border := _border(feature_extractor):
        activations = activations[:, border:-border, border:-border, :]
    chosen = ops.sum(activations * filters[:, None, None, :], axis=-1)
    return ops.mean(chosen, axis=(1, 2))


def ascent_step(feature_extractor: keras.Model, scale: float, learning_rate: float):
    """One step of the book's ascent for a batch: each image moves along its normalised gradient."""

    def step(images, filters):
        def loss(images):
            return ops.sum(mean_activations(feature_extractor, images, filters, scale))

        _, grads = value_and_grad(loss, images)
        # tf.math.l2_normalize, per image: the book's batch is one image.
        squares = ops.sum(ops.square(grads), axis=(1, 2, 3), keepdims=True)
        return images + learning_rate * grads / ops.sqrt(ops.maximum(squares, 1e-12))

    return step


def starts(count: int, size: int, seed: int, start: tuple[float, float] = START) -> np.ndarray:
    """The noise each filter starts from; drawn all at once, so batches do not change it."""
    rng = np.random.default_rng(seed)
    return rng.uniform(*start, size=(count, size, size, 3)).astype("float32")


def patterns(
    feature_extractor: keras.Model,
    filters: list[int],
    size: int,
    *,
    steps: int = 30,
    learning_rate: float = 10.0,
    scale: float = 1.0,
    batch_size: int = 1,
    seed: int = 0,
    start: tuple[float, float] = START,
) -> tuple[np.ndarray, np.ndarray]:
    """Pictures (n, size, size, 3) maximising each filter, and which filters never moved.

    start is the noise's range in [0, 1] units (the book's 0.4..0.6).
    """
    channels = feature_extractor.output.shape[-1]
    noise = starts(len(filters), size, seed, start)
    images = noise.copy()
    onehots = np.eye(channels, dtype="float32")[filters]
    batch = min(batch_size, len(filters))
    step = compiled(ascent_step(feature_extractor, scale, learning_rate))
    for first in range(0, len(filters), batch):
        part = slice(first, first + batch)
        # The last batch is padded to full size: a new shape would compile the step again.
        pad = batch - len(images[part])
        x = np.concatenate([images[part], np.repeat(images[part][-1:], pad, axis=0)])
        hot = np.concatenate([onehots[part], np.repeat(onehots[part][-1:], pad, axis=0)])
        before = mean_activations(feature_extractor, x, hot, scale)
        for _ in range(steps):
            x = step(x, hot)
        after = mean_activations(feature_extractor, x, hot, scale)
        images[part] = np.asarray(x)[: batch - pad]
        # Exactly equal: a zero gradient leaves the picture as it was, bit for bit.
        still = (images[part] == noise[part]).all(axis=(1, 2, 3))
        log.info(
            "filters %d-%d of %d: mean activation %.3g -> %.3g%s",
            first + 1,
            first + batch - pad,
            len(filters),
            float(ops.mean(before[: batch - pad])),
            float(ops.mean(after[: batch - pad])),
            f", {still.sum()} did not move" if still.any() else "",
        )
    unmoved = (images == noise).all(axis=(1, 2, 3))
    if unmoved.any():
        log.warning(
            "%d of %d filters did not move (%s): their activation has no gradient on their "
            "starting noise (a relu that is 0 all over it, in the filter or the layers before: "
            "dead there); their cells are crossed out. Noise of more contrast (a wider start "
            "range) or another layer may wake them",
            unmoved.sum(),
            len(filters),
            ", ".join(str(f) for f, dead in zip(filters, unmoved) if dead),
        )
    return images, unmoved


def ascend(feature_extractor: keras.Model, filters: list[int], size: int, **ascent) -> np.ndarray:
    """Pictures (n, size, size, 3), float, each maximising its filter's mean activation."""
    return patterns(feature_extractor, filters, size, **ascent)[0]


def deprocess(image: np.ndarray, crop: int) -> np.ndarray:
    """The book's display: standardise, x64 +128, clip to uint8, drop crop px at each edge."""
    image = image - image.mean()
    image = image / (image.std() or 1.0)
    image = np.clip(image * 64 + 128, 0, 255).astype("uint8")
    return image[crop:-crop, crop:-crop] if crop else image


def crossed(pattern: np.ndarray, half_widths: tuple[float, float] = CROSS) -> np.ndarray:
    """The cell of a filter that did not move: its noise under a white cross lined in black."""
    height, width = pattern.shape[:2]
    rows, cols = np.mgrid[:height, :width].astype("float64")
    # Distance of each pixel to the two diagonals of the cell.
    norm = math.hypot(height - 1, width - 1) or 1.0
    down = np.abs(rows * (width - 1) - cols * (height - 1)) / norm
    up = np.abs(rows * (width - 1) + cols * (height - 1) - (height - 1) * (width - 1)) / norm
    distance = np.minimum(down, up)
    marked = pattern.copy()
    outline, core = half_widths
    marked[distance <= outline] = 0
    marked[distance <= core] = 255
    return marked


def crop_for(size: int) -> int:
    """The book's 25 px crop at 200 px, scaled to another size."""
    return round(size * CROP)


def grid(patterns: np.ndarray, margin: int = MARGIN) -> np.ndarray:
    """Patterns (n, h, w, 3) uint8 in a square-ish grid (8x8 for 64) with black margins."""
    n, height, width = patterns.shape[:3]
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.zeros(
        (rows * height + (rows - 1) * margin, columns * width + (columns - 1) * margin, 3),
        dtype="uint8",
    )
    for i, pattern in enumerate(patterns):
        top, left = (i // columns) * (height + margin), (i % columns) * (width + margin)
        canvas[top : top + height, left : left + width] = pattern
    return canvas


def pattern_grid(feature_extractor: keras.Model, count: int, size: int, **ascent) -> np.ndarray:
    """The book's figure: the first count filters' patterns, deprocessed and cropped, in a grid.

    Filters that did not move are crossed out: their cell is the starting noise, no pattern.
    """
    channels = feature_extractor.output.shape[-1]
    if count > channels:
        log.info("the layer has %d filters, fewer than %d: drawing them all", channels, count)
    raw, still = patterns(feature_extractor, list(range(min(count, channels))), size, **ascent)
    cells = [deprocess(image, crop_for(size)) for image in raw]
    return grid(np.stack([crossed(c) if s else c for c, s in zip(cells, still)]))


def save(canvas: np.ndarray, path) -> None:
    """Write a grid as PNG, atomically."""
    with atomic(path) as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")
