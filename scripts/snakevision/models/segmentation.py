"""Three-class trimap segmentation: the book's encoder-decoder (DLwP 2nd ed., ch. 9) and a U-Net."""

import keras
from keras import layers


def book(image_size: int = 200, num_classes: int = 3) -> keras.Model:
    """Return the book's segmentation model for float pixels 0..255 of shape (size, size, 3).

    image_size must be a multiple of 8 (models.catalog, checked with the config).
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


def conv_block(x: keras.KerasTensor, filters: int) -> keras.KerasTensor:
    """Two 3x3 convolutions, each followed by batch normalization and relu (size kept)."""
    for _ in range(2):
        # Batch normalization re-centres the output, so the convolution needs no bias.
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        # Inference uses the moving statistics: Keras's default momentum (0.99) averages them
        # over about a hundred steps of fast-changing weights, and they lag behind a short
        # training (the demo's 240 steps: masks of background only). 0.9 (PyTorch's) keeps up.
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
    return x


def unet(image_size: int = 200, num_classes: int = 3) -> keras.Model:
    """Return a U-Net for float pixels 0..255 of shape (size, size, 3).

    Its skip connections hand each scale's encoder map to the decoder, so the masks keep the
    outlines and borders that the book's model blurs. image_size must be a multiple of 8.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)

    # Encoder: a conv block per scale, its output kept for the decoder, then halved. Filters
    # sized so that a training step costs about the book model's (bench/README.md).
    skips = []
    for filters in [24, 48, 96]:
        x = conv_block(x, filters)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)

    x = conv_block(x, 192)  # the bottleneck, at an eighth of the size

    # Decoder: doubled, joined with the encoder's map of the same scale, then a conv block.
    for filters, skip in zip([96, 48, 24], reversed(skips)):
        x = layers.UpSampling2D(2)(x)
        x = layers.Concatenate()([x, skip])
        x = conv_block(x, filters)

    # float32 head, as in the book's model: a per-pixel softmax over the classes.
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", dtype="float32", name="mask")(x)
    return keras.Model(inputs, outputs, name="unet")


# Architecture (catalog name) -> builder; each model is named as its key.
BUILDERS = {"book": book, "unet": unet}
