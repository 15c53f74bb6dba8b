"""The book's encoder-decoder model for three-class trimap segmentation (DLwP 2nd ed., ch. 9)."""

import keras
from keras import layers

from snakevision.models import shapes

# (filters, strides) of the encoder's Conv2D and the decoder's Conv2DTranspose layers, in order:
# in the keras-free shapes module, which the config check reads the sizes they allow from.
ENCODER, DECODER = shapes.SEGMENTATION_ENCODER, shapes.SEGMENTATION_DECODER


def build(image_size: int = 200, num_classes: int = 3) -> keras.Model:
    """Return the book's segmentation model for float pixels 0..255 of shape (size, size, 3)."""
    shapes.require("segmentation", image_size)  # else the masks come out larger than the images
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters, strides in ENCODER:
        x = layers.Conv2D(filters, 3, strides=strides, activation="relu", padding="same")(x)
    for filters, strides in DECODER:
        x = layers.Conv2DTranspose(filters, 3, strides=strides, activation="relu", padding="same")(
            x
        )
    # float32 head: under a mixed_bfloat16 policy the softmax and the loss stay in full precision.
    outputs = layers.Conv2D(
        num_classes,
        3,
        activation="softmax",
        padding="same",
        dtype="float32",
        name="mask",
    )(x)
    return keras.Model(inputs, outputs, name="segmentation")
