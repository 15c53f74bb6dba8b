"""How many micro-batches a training batch goes through the model in (`micro_batches` in config).

Keras-free: training, the rules' memory estimate and the config check read it alike.
"""

from __future__ import annotations

import math

# Models with batch normalization, which would normalise over parts of a batch: they train on
# whole batches (a test checks this set against the built models).
BATCH_NORMALIZED = {"mini_xception", "unet"}

# Images per part that `auto` makes on a CPU, where activations take host memory: the book's
# segmentation job then peaks at 1.6 GB at batch 64, not 4.5 GB, at equal speed (bench/README.md).
CPU_MICRO_BATCH = 8


def count(
    requested: int | str, batch_size: int, model: str, precision: str, accelerator: bool
) -> int:
    """The parts per batch: a number as requested; `auto` splits on a CPU only, where it helps.

    The parts' gradients are averaged before one update: the whole batch's. Never `auto` under
    batch normalization, which would normalise over parts, nor under mixed_float16, whose loss
    scaling skips the parts whose gradients overflow. On an accelerator activations take device
    memory, not the host's, so `auto` keeps batches whole there.
    """
    if requested != "auto":
        return int(requested)
    if accelerator or model in BATCH_NORMALIZED or precision == "mixed_float16":
        return 1
    return math.ceil(batch_size / CPU_MICRO_BATCH)
