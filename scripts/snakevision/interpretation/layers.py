"""Finding the layers to interpret in a model, by kind or by the name config gives."""

from __future__ import annotations

import keras
from keras import layers

# The layers whose outputs the book shows as activation grids.
SHOWN = (layers.Conv2D, layers.SeparableConv2D, layers.MaxPooling2D)
CONVOLUTIONS = (layers.Conv2D, layers.SeparableConv2D)
# Grad-CAM's default map is the last one at least this many cells a side: the book's
# block14_sepconv2_act is 10x10 at 299 px and 7x7 at 200 px; a 3x3 map cannot localise.
GRADCAM_MIN_SIDE = 7


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
    """The last layer with a feature map of more than one cell: Grad-CAM's default before
    gradcam_layer (bench/gradcam_focus.py measures both).

    For the ImageNet Xception that is the book's block14_sepconv2_act; for the convnet its
    last Conv2D, or the pooling before it where small inputs shrink that to 1x1; for the mini
    Xception its last residual add.
    """
    return [
        layer
        for layer in model.layers
        if len(layer.output.shape) == 4 and layer.output.shape[1] * layer.output.shape[2] > 1
    ][-1]


def side(layer: keras.Layer) -> int:
    """The shorter side of a layer's (batch, h, w, channels) feature map."""
    return min(layer.output.shape[1:3])


def ends_in_output(model: keras.Model, layer: keras.Layer) -> bool:
    """Whether the model's output is computed from this layer's output alone.

    A layer inside a residual block is not: the shortcut around it feeds the output too.
    """
    try:
        keras.Model(layer.output, model.output)
    except ValueError:  # Keras: "Output ... is not connected to `inputs`"
        return False
    return True


def feature_maps(model: keras.Model) -> list[keras.Layer]:
    """Layers with a (batch, h, w, channels) output from the first convolution on, in order.

    The input, augmentation and rescaling before it are pictures, not feature maps.
    """
    first = next((i for i, layer in enumerate(model.layers) if isinstance(layer, CONVOLUTIONS)), 0)
    return [layer for layer in model.layers[first:] if len(layer.output.shape) == 4]


def gradcam_layer(model: keras.Model, min_side: int = GRADCAM_MIN_SIDE) -> keras.Layer:
    """Grad-CAM's default layer: the last feature map at least min_side cells a side.

    Only maps the output is computed from alone count (a residual add, not a conv inside its
    block). Where none is that big, the largest map, the last of that size. The ImageNet
    Xception at 299 px gets the book's block14_sepconv2_act (10x10); at 80 px our convnet
    gets pool3 (8x8) and the mini Xception block3_add (10x10).
    """
    maps = [layer for layer in feature_maps(model) if ends_in_output(model, layer)]
    if not maps:
        raise ValueError(f"{model.name} has no feature map that its output depends on alone")
    big = [layer for layer in maps if side(layer) >= min_side]
    if big:
        return big[-1]
    largest = max(side(layer) for layer in maps)
    return [layer for layer in maps if side(layer) == largest][-1]
