"""The image sizes each model can take, read off its builder in this package, for the config check.

Keras-free, as the Snakefile's config check imports it on every snakemake run (a dry run
included), where importing Keras would add seconds. Tests build the real models on both sides
of each limit, so these numbers cannot drift from the builders.
"""

from __future__ import annotations

import math

# Models that halve the size with strided 'same' convolutions and double it back: other sizes
# give masks larger than the images.
MULTIPLE_OF = {
    "book": (8, "it halves the size 3 times and doubles it back"),
    "unet": (8, "it halves the size 3 times and doubles it back"),
}

# Models whose unpadded ('valid') convolutions and poolings leave nothing of a smaller image.
AT_LEAST = {
    "convnet": (
        78,
        "its 5 unpadded 3x3 convolutions and 4 poolings leave nothing of a smaller image",
    ),
    "mini_xception": (5, "its unpadded 5x5 convolution leaves nothing of a smaller image"),
}


def problem(model: str, size: int) -> str | None:
    """Why model cannot take size x size images ('needs ...'), None if it can."""
    if model in MULTIPLE_OF:
        step, why = MULTIPLE_OF[model]
        if size % step == 0:
            return None
        below, above = size // step * step, math.ceil(size / step) * step
        return (
            f"needs a multiple of {step}: {why}, so {size} px images would give {above} px "
            f"masks; allowed: {below} or {above}"
        )
    smallest, why = AT_LEAST[model]
    if size >= smallest:
        return None
    return f"needs at least {smallest} px: {why}; allowed: {smallest} or more"
