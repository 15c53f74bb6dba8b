"""Finding the layers to interpret in a model, by kind or by the name config gives."""

from __future__ import annotations

import keras
from keras import layers

# The layers whose outputs the book shows as activation grids.
SHOWN = (layers.Conv2D, layers.SeparableConv2D, layers.MaxPooling2D)
CONVOLUTIONS = (layers.Conv2D, layers.SeparableConv2D)


def shown_layers(model: keras.Model) -> list[keras.Layer]:
    """The model's Conv2D, SeparableConv2D and MaxPooling2D layers, in model order."""
    return [layer for layer in model.layers if isinstance(layer, SHOWN)]


def layer_named(model: keras.Model, name: str, key: str) -> keras.Layer:
    """The layer called name; else an error naming the config key and the model's choices."""
    try:
        return model.get_layer(name)
    except ValueError:
        convs = [layer.name for layer in model.layers if isinstance(layer, CONVOLUTIONS)]
        raise ValueError(
            f"{key}: {model.name} has no layer {name!r}; its convolution layers are "
            f"{', '.join(convs)}"
        ) from None


def last_spatial_layer(model: keras.Model) -> keras.Layer:
    """The last layer with a feature map of more than one cell: Grad-CAM's layer by default.

    For the ImageNet Xception that is the book's block14_sepconv2_act; for the convnet its
    last Conv2D, or the pooling before it where small inputs shrink that to 1x1; for the mini
    Xception its last residual add.
    """
    return [
        layer
        for layer in model.layers
        if len(layer.output.shape) == 4 and layer.output.shape[1] * layer.output.shape[2] > 1
    ][-1]
