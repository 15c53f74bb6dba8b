"""What a training batch may be: no larger than its split, and the parts it goes through in.

Keras-free and light: training, the rules' memory estimate, the config check and rule
check_batch_size read it alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# Pixels per part that `auto` makes on a CPU, where activations take host memory: 8 images of
# 200 px. The book's segmentation job then peaks at 1.6 GB at batch 64, not 4.5 GB, at equal
# speed; parts of fewer pixels cost speed (8 images of 96 px: 1.4x slower), so smaller images
# go in fewer, larger parts (bench/README.md).
CPU_PART_PIXELS = 8 * 200 * 200


def micro_batches(
    requested: int | str,
    batch_size: int,
    batch_norm: bool,
    precision: str,
    accelerator: bool,
    image_size: int,
) -> int:
    """The parts per batch: a number as requested; `auto` splits on a CPU only, where it helps.

    The parts' gradients are averaged before one update: the whole batch's. Never `auto` under
    batch normalization, which would normalise over parts, nor under mixed_float16, whose loss
    scaling skips the parts whose gradients overflow. On an accelerator activations take device
    memory, not the host's, so `auto` keeps batches whole there.
    """
    if requested != "auto":
        return int(requested)
    if accelerator or batch_norm or precision == "mixed_float16":
        return 1
    images = max(1, CPU_PART_PIXELS // image_size**2)
    return math.ceil(batch_size / images)


def batch_problem(key: str, batch_size: int, images: int, source: str) -> str | None:
    """Why a training section's batch_size cannot be, None if it can: larger than its split.

    key is the config section ('segmentation.train.book'), source says where the count comes from.
    """
    if batch_size <= images:
        return None
    return (
        f"{key}.batch_size ({batch_size}) exceeds the {images} images it trains on ({source}); "
        f"allowed: 1..{images}"
    )


def training_mem_mb(
    mb_per_image: float, mb_size: int, train: Mapping[str, Any], batch_norm: bool, image_size: int
) -> int:
    """Host memory (MB) a training job asks for: the runtime plus one pass's activations.

    mb_per_image at mb_size px is the model's (models.catalog); a pass holds the images of one
    part of a batch on a CPU, where `auto` splits. A GPU job's host memory holds no activations,
    so the CPU bounds what a job needs. A quarter more than measured, for margin.
    """
    batch = train["batch_size"]
    parts = micro_batches(
        train["micro_batches"], batch, batch_norm, train["precision"], False, image_size
    )
    images = math.ceil(batch / parts)
    return int(1500 + 1.25 * mb_per_image * images * (image_size / mb_size) ** 2)
