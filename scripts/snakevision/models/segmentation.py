"""Three-class trimap segmentation: the book's encoder-decoder (DLwP 2nd ed., ch. 9) and a U-Net."""

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

    Its skip connections hand every scale's encoder map to the decoder, so the masks keep the
    borders that the book's model blurs. Batch normalization: trained in whole batches
    (training.micro_batches).
    """
    shapes.require("unet", image_size)  # else an upsampled map and its skip differ in size
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)

    # Encoder: a conv block per scale, its output kept for the decoder, then halved.
    *encoder, bottleneck = shapes.UNET_FILTERS
    skips = []
    for filters in encoder:
        x = conv_block(x, filters)
        skips.append(x)
        x = layers.MaxPooling2D(shapes.UNET_POOL)(x)
    x = conv_block(x, bottleneck)

    # Decoder: doubled, joined with the encoder's map of the same scale, then a conv block.
    for filters, skip in zip(reversed(encoder), reversed(skips)):
        x = layers.UpSampling2D(shapes.UNET_POOL)(x)
        x = layers.Concatenate()([x, skip])
        x = conv_block(x, filters)

    # float32 head, as in the book's model: a per-pixel softmax over the classes.
    outputs = layers.Conv2D(
        num_classes,
        1,
        activation="softmax",
        dtype="float32",
        name="mask",
    )(x)
    return keras.Model(inputs, outputs, name="unet")
