"""The book's cat/dog classifiers (DLwP 2nd ed., ch. 8-9) and the residual-connection demos."""

import math
import os
from collections.abc import Callable

import keras
from keras import layers

# Width of summary_text's table, wide enough for the "Connected to" column.
LINE_LENGTH = 110


def augmentation(seed: int | None = None) -> keras.Sequential:
    """Return the book's augmentation stage, active only in training."""
    # Keras 3's random layers default to training=True when no flag reaches them, so a bare
    # model(x) augments; inference must use predict() or model(x, training=False).
    # Distinct seeds per layer, so that flip, rotation and zoom draws are not correlated.
    seeds = [None] * 3 if seed is None else [seed, seed + 1, seed + 2]
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seeds[0]),
            layers.RandomRotation(0.1, seed=seeds[1]),
            layers.RandomZoom(0.2, seed=seeds[2]),
        ],
        name="data_augmentation",
    )


def residual_block(x: keras.KerasTensor, filters: int, pooling: bool = False) -> keras.KerasTensor:
    """Apply two 3x3 relu convolutions plus a shortcut, projected when the shape changes."""
    residual = x
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    if pooling:
        x = layers.MaxPooling2D(2, padding="same")(x)
        # A strided 1x1 conv matches both the halved size and the new channel count.
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(residual)
    elif filters != residual.shape[-1]:
        residual = layers.Conv2D(filters, 1)(residual)
    return layers.add([x, residual])


def separable_block(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    """Apply the mini Xception block: (BN, relu, SeparableConv2D) x2, pool, projected shortcut.

    Layers are named like the ImageNet Xception's (block3_sepconv1...), so that interpretation
    outputs and config can name them whatever else the process built before.
    """
    residual = x
    for i in (1, 2):
        # Pre-activation order: BN and relu come before each conv, so the conv needs no bias.
        x = layers.BatchNormalization(name=f"{name}_sepconv{i}_bn")(x)
        x = layers.Activation("relu", name=f"{name}_sepconv{i}_act")(x)
        x = layers.SeparableConv2D(
            filters, 3, padding="same", use_bias=False, name=f"{name}_sepconv{i}"
        )(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    residual = layers.Conv2D(
        filters, 1, strides=2, padding="same", use_bias=False, name=f"{name}_shortcut"
    )(residual)
    return layers.add([x, residual], name=f"{name}_add")


def _classifier_head(x: keras.KerasTensor) -> keras.KerasTensor:
    """Return a sigmoid probability in float32, whatever the global dtype policy."""
    return layers.Dense(1, activation="sigmoid", dtype="float32", name="probability")(x)


def convnet(image_size: int = 180, seed: int | None = None) -> keras.Model:
    """Return the chapter-8 convnet with augmentation and dropout (991,041 params at 180)."""
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = augmentation(seed)(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    # Named: config and interpretation outputs refer to the layers by name.
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.Conv2D(256, 3, activation="relu", name="conv4")(x)
    x = layers.MaxPooling2D(2, name="pool4")(x)
    x = layers.Conv2D(256, 3, activation="relu", name="conv5")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, _classifier_head(x), name="convnet")


def mini_xception(image_size: int = 180, seed: int | None = None) -> keras.Model:
    """Return the book's mini Xception: separable residual blocks, global pooling, dropout."""
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = augmentation(seed)(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(32, 5, use_bias=False, name="conv1")(x)
    for i, filters in enumerate([32, 64, 128, 256, 512], start=1):
        x = separable_block(x, filters, name=f"block{i}")
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, _classifier_head(x), name="mini_xception")


def residual_demo() -> keras.Model:
    """Return the book's small residual-block model on 32x32 images."""
    inputs = keras.Input(shape=(32, 32, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = residual_block(x, 32, pooling=True)
    x = residual_block(x, 64, pooling=True)
    x = residual_block(x, 128, pooling=False)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _classifier_head(x), name="residual_demo")


def projection_demo() -> keras.Model:
    """Return the book's example of a shortcut projected by a 1x1 conv to more channels."""
    inputs = keras.Input(shape=(32, 32, 3), name="image")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    residual = x
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    residual = layers.Conv2D(64, 1)(residual)
    x = layers.add([x, residual], name="residual_add")
    # The book stops at the add; pooling and a sigmoid make it a complete model.
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _classifier_head(x), name="projection_demo")


def pooling_demo() -> keras.Model:
    """Return the book's example of a shortcut projected by a strided 1x1 conv after pooling."""
    inputs = keras.Input(shape=(32, 32, 3), name="image")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    residual = x
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    residual = layers.Conv2D(64, 1, strides=2)(residual)
    x = layers.add([x, residual], name="residual_add")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, _classifier_head(x), name="pooling_demo")


BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "convnet": convnet,
    "mini_xception": mini_xception,
    "residual_demo": residual_demo,
    "projection_demo": projection_demo,
    "pooling_demo": pooling_demo,
}


def _size(weights: list) -> int:
    """Return the number of scalars in a list of variables."""
    return sum(math.prod(w.shape) for w in weights)


def summary_text(model: keras.Model) -> str:
    """Return model.summary() as plain text plus a machine-readable parameter-count line."""
    lines: list[str] = []
    # Keras renders through a rich console that crops to COLUMNS (80 when unset, as in a job),
    # which would cut off the table's last column; widen it just for this call.
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(LINE_LENGTH)
    try:
        model.summary(line_length=LINE_LENGTH, print_fn=lambda text, **_: lines.append(text))
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    trainable = _size(model.trainable_weights)
    frozen = _size(model.non_trainable_weights)
    lines.append(f"params total={trainable + frozen} trainable={trainable} non_trainable={frozen}")
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"
