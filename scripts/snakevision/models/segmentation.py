"""Three-class trimap segmentation: the book's encoder-decoder model (DLwP 2nd ed., ch. 9)."""

import keras
from keras import layers


def build(image_size: int = 200, num_classes: int = 3) -> keras.Model:
    """Return the book's segmentation model for float pixels 0..255 of shape (size, size, 3).

    image_size must be a multiple of 8 (models.shapes, checked with the config).
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)

    x = layers.Conv2D(64, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(128, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(128, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(256, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, activation="relu", padding="same")(x)

    x = layers.Conv2DTranspose(256, 3, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(256, 3, activation="relu", padding="same", strides=2)(x)
    x = layers.Conv2DTranspose(128, 3, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(128, 3, activation="relu", padding="same", strides=2)(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", padding="same", strides=2)(x)

    # float32 head: under a mixed_bfloat16 policy the softmax and the loss stay in full precision.
    outputs = layers.Conv2D(
        num_classes, 3, activation="softmax", padding="same", dtype="float32", name="mask"
    )(x)
    return keras.Model(inputs, outputs, name="book")


# Config's segmentation.models -> builder; each model is named as its key.
BUILDERS = {"book": build}
