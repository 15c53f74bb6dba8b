"""Intermediate activations as the book shows them: a grid of channels per layer (9.4.1)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from snakevision.figures import figure
from snakevision.files import atomic
from snakevision.interpretation.layers import shown_layers

log = logging.getLogger(__name__)

PER_ROW = 16  # channels per row of a grid


def activation_model(model: keras.Model) -> keras.Model:
    """A model returning every shown layer's output: one forward pass gives them all."""
    return keras.Model(model.input, [layer.output for layer in shown_layers(model)])


def activations(model: keras.Model, image: np.ndarray) -> dict[str, np.ndarray]:
    """Layer name -> its (h, w, channels) output for one image, in model order."""
    outputs = activation_model(model)(image[None].astype("float32"), training=False)
    return {
        layer.name: np.asarray(keras.ops.convert_to_numpy(output), dtype="float32")[0]
        for layer, output in zip(shown_layers(model), outputs)
    }


def grid(activation: np.ndarray) -> np.ndarray:
    """Channels side by side, PER_ROW a row, each standardised to x64 +128, 1 px gaps (uint8).

    A channel that is constant (a dead filter, often all zeros after relu) stays as it is. A
    1x1 map has one value per channel, which cannot be standardised on its own: its channels
    are standardised together, so the grid shows which of them fire.
    """
    height, width, channels = activation.shape
    if height * width == 1 and activation.std() > 0:
        activation = (activation - activation.mean()) / activation.std() * 64 + 128
    columns = min(PER_ROW, channels)
    rows = math.ceil(channels / columns)
    canvas = np.zeros((rows * (height + 1) - 1, columns * (width + 1) - 1), dtype="uint8")
    for c in range(channels):
        channel = activation[:, :, c].astype("float64")
        if channel.std() > 0:
            channel = (channel - channel.mean()) / channel.std() * 64 + 128
        top, left = (c // columns) * (height + 1), (c % columns) * (width + 1)
        canvas[top : top + height, left : left + width] = np.clip(channel, 0, 255)
    return canvas


def save_grid(canvas: np.ndarray, title: str, path: Path, cell: int) -> None:
    """Draw a grid in viridis under its title, about one inch per channel as the book does."""
    scale = 1.0 / max(cell, 1)
    size = (max(canvas.shape[1] * scale, 2.0), max(canvas.shape[0] * scale, 1.0))
    with figure(path, figsize=size) as fig:
        ax = fig.add_subplot()
        ax.imshow(canvas, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")


def write(model: keras.Model, image: np.ndarray, folder: Path) -> list[Path]:
    """input.png (what the model saw) and one NN_layer.png grid per shown layer, in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic(folder / "input.png") as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    written = [folder / "input.png"]
    for index, (name, activation) in enumerate(activations(model, image).items(), start=1):
        path = folder / f"{index:02d}_{name}.png"
        save_grid(grid(activation), name, path, cell=activation.shape[0])
        written.append(path)
    log.info("%s: %d layer grids", folder.name, len(written) - 1)
    return written
