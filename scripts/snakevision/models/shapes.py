"""The image sizes each model can take, from the layer settings its builder uses.

Keras-free, as the Snakefile's config check imports it on every snakemake run (a dry run
included), where importing Keras would add seconds. The builders take their strides, kernels
and poolings from here, and refuse a size this module refuses, so the check cannot drift from
them; tests build the real models at the limits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# The book's segmentation model: (filters, strides) of the encoder's Conv2D and the decoder's
# Conv2DTranspose layers, in order, all 3x3 with 'same' padding.
SEGMENTATION_ENCODER = ((64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1))
SEGMENTATION_DECODER = ((256, 1), (256, 2), (128, 1), (128, 2), (64, 1), (64, 2))

# The U-Net: the filters of its conv blocks from the full-size one down to the bottleneck,
# a MaxPooling2D(2) ('valid') between each two, and an UpSampling2D(2) back up to each skip.
# Sized so that a training step costs about the book model's (bench/README.md); a base of 32
# would cost 1.6x.
UNET_FILTERS = (24, 48, 96, 192)
UNET_POOL = 2

# The chapter-8 convnet: these 'valid' convolutions, with a pooling between each two.
CONVNET_FILTERS = (32, 64, 128, 256, 256)
CONVNET_KERNEL = 3
CONVNET_POOL = 2  # MaxPooling2D(2): 'valid', stride 2

# The mini Xception: a 'valid' 5x5 convolution, then one block per size, each ending in a
# MaxPooling2D(3, strides=2, padding='same') beside a strided 1x1 shortcut.
XCEPTION_STEM = 5
XCEPTION_SIZES = (32, 64, 128, 256, 512)
XCEPTION_POOL, XCEPTION_STRIDE = 3, 2


def _valid(size: int, kernel: int, stride: int = 1) -> int:
    """Side after a 'valid' convolution or pooling (0 or less: nothing is left)."""
    return (size - kernel) // stride + 1


def segmentation_output(size: int) -> int:
    """Side of the segmentation model's mask for a size x size image."""
    for _, stride in SEGMENTATION_ENCODER:
        size = math.ceil(size / stride)  # 'same' padding rounds up
    for _, stride in SEGMENTATION_DECODER:
        size *= stride  # a 'same' Conv2DTranspose multiplies by its stride
    return size


def convnet_output(size: int) -> int:
    """Side of the convnet's last feature map for a size x size image."""
    for i in range(len(CONVNET_FILTERS)):
        if i:
            size = _valid(size, CONVNET_POOL, CONVNET_POOL)
        size = _valid(size, CONVNET_KERNEL)
    return size


def mini_xception_output(size: int) -> int:
    """Side of the mini Xception's last feature map for a size x size image."""
    size = _valid(size, XCEPTION_STEM)
    for _ in XCEPTION_SIZES:
        size = math.ceil(size / XCEPTION_STRIDE) if size > 0 else size
    return size


def _smallest(output: Callable[[int], int]) -> int:
    """The smallest size whose last feature map keeps at least one pixel."""
    size = 1
    while output(size) < 1:
        size += 1
    return size


def segmentation_problem(size: int) -> str | None:
    """Why the segmentation model cannot take size, None if it can."""
    halvings = sum(stride == 2 for _, stride in SEGMENTATION_ENCODER)
    step = math.prod(stride for _, stride in SEGMENTATION_ENCODER)
    if segmentation_output(size) == size:
        return None
    below = size // step * step
    return (
        f"needs a multiple of {step}: it halves the size {halvings} times and doubles it back, "
        f"so {size} px images would give {segmentation_output(size)} px masks; allowed: "
        f"{below} or {below + step}"
    )


def unet_sides(size: int) -> tuple[list[int], list[int]]:
    """Sides of the U-Net's encoder maps (skips, then the bottleneck) and of their upsamplings."""
    sides = [size]
    for _ in UNET_FILTERS[1:]:
        sides.append(_valid(sides[-1], UNET_POOL, UNET_POOL))
    return sides, [side * UNET_POOL for side in sides[1:]]


def unet_problem(size: int) -> str | None:
    """Why the U-Net cannot take size, None if it can."""
    halvings = len(UNET_FILTERS) - 1
    step = UNET_POOL**halvings
    sides, upsampled = unet_sides(size)
    if sides[-1] >= 1 and upsampled == sides[:-1]:
        return None
    below = max(size // step, 1) * step
    pairs = ", ".join(f"{up} to {skip}" for up, skip in zip(upsampled, sides) if up != skip)
    return (
        f"needs a multiple of {step}: it halves the size {halvings} times and concatenates each "
        f"doubled map with the encoder's map of that scale, so {size} px images would join "
        f"{pairs} px maps; allowed: {below} or {below + step}"
    )


def _at_least(output: Callable[[int], int], why: str) -> Callable[[int], str | None]:
    def problem(size: int) -> str | None:
        smallest = _smallest(output)
        return (
            None
            if size >= smallest
            else f"needs at least {smallest} px: {why}; allowed: {smallest} or more"
        )

    return problem


PROBLEMS: dict[str, Callable[[int], str | None]] = {
    "segmentation": segmentation_problem,
    "unet": unet_problem,
    "convnet": _at_least(
        convnet_output,
        f"its {len(CONVNET_FILTERS)} unpadded {CONVNET_KERNEL}x{CONVNET_KERNEL} convolutions "
        f"and {len(CONVNET_FILTERS) - 1} poolings leave nothing of a smaller image",
    ),
    "mini_xception": _at_least(
        mini_xception_output,
        f"its unpadded {XCEPTION_STEM}x{XCEPTION_STEM} convolution leaves nothing of a smaller "
        "image",
    ),
}


def problem(model: str, size: int) -> str | None:
    """Why model cannot take size x size images ('needs ...'), None if it can."""
    return PROBLEMS[model](size)


def require(model: str, size: int) -> None:
    """Raise ValueError if model cannot take size x size images."""
    if reason := problem(model, size):
        raise ValueError(f"image_size {size}: model {model} {reason}")
