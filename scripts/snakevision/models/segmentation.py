"""The book's encoder-decoder model for three-class trimap segmentation (DLwP 2nd ed., ch. 9)."""

import keras
from keras import layers

# (filters, strides) of the encoder's Conv2D and the decoder's Conv2DTranspose layers, in order.
ENCODER = ((64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1))
DECODER = ((256, 1), (256, 2), (128, 1), (128, 2), (64, 1), (64, 2))


def build(image_size: int = 200, num_classes: int = 3) -> keras.Model:
    """Return the book's segmentation model for float pixels 0..255 of shape (size, size, 3)."""
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
