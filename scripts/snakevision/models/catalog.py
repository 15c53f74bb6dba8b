"""Every fact about a model that the rules, the config check and the report need, by name.

Keras-free, as the Snakefile imports it on every snakemake run (a dry run included). The Keras
builders sit beside it (models.segmentation, models.classification) under the same names.
Adding a model is one builder, one entry here and one config section. Tests build the real
models against these facts (size limits, batch normalization), so they cannot drift apart.

What a catalog edit reruns: no training (rule train imports its task's builders, not this),
but the rules whose scripts import it (model_summaries); the memory estimates and the book's
figures reach their rules as values, which Snakemake compares by content, and the config check
reads it when snakemake starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snakevision.models.tasks import CLASSIFICATION, SEGMENTATION


@dataclass(frozen=True)
class Model:
    """One model: what it does, what it can take, what it costs and what the book published."""

    task: str  # segmentation | classification
    trains: bool = True  # trained and evaluated; False: only its summary is written
    # Image sizes: a multiple of `multiple_of`, at least `at_least`; `why` says what the
    # builder does that needs it. None: a fixed-input demo.
    multiple_of: int = 1
    at_least: int = 1
    why: str = ""
    batch_norm: bool = False  # trains on whole batches: no micro-batches
    # Training memory per image of a batch, in MB at `mb_size` px: peak RSS on a CPU, where
    # activations live in host memory, less the runtime (bench/README.md).
    mb_per_image: float = 0.0
    mb_size: int = 0
    published_metric: str | None = None  # the metric the book publishes for it, and its value
    published_value: float | None = None


HALVES = "it halves the size 3 times and doubles it back"

MODELS: dict[str, Model] = {
    # The book's Conv2D/Conv2DTranspose model: no published metric (overfits around epoch 25).
    "book": Model(SEGMENTATION, multiple_of=8, why=HALVES, mb_per_image=48, mb_size=200),
    # Beyond the book: skip connections and batch normalization. One pass (no micro-batches).
    "unet": Model(
        SEGMENTATION,
        multiple_of=8,
        why=HALVES,
        batch_norm=True,
        mb_per_image=88,
        mb_size=200,
    ),
    # Chapter 8's convnet with augmentation: 83.5% test accuracy.
    "convnet": Model(
        CLASSIFICATION,
        at_least=78,
        why="its 5 unpadded 3x3 convolutions and 4 poolings leave nothing of a smaller image",
        mb_per_image=11,
        mb_size=180,
        published_metric="accuracy",
        published_value=0.835,
    ),
    # Chapter 9's mini Xception: 90.8% test accuracy.
    "mini_xception": Model(
        CLASSIFICATION,
        at_least=5,
        why="its unpadded 5x5 convolution leaves nothing of a smaller image",
        batch_norm=True,
        mb_per_image=72,
        mb_size=180,
        published_metric="accuracy",
        published_value=0.908,
    ),
    # The book's residual-connection listings: summaries only, on their own small inputs.
    "residual_demo": Model(CLASSIFICATION, trains=False),
    "projection_demo": Model(CLASSIFICATION, trains=False),
    "pooling_demo": Model(CLASSIFICATION, trains=False),
}

# The ImageNet Xception that interpretation explains beside ours: its name in output paths.
IMAGENET = "xception_imagenet"


def trained(task: str) -> list[str]:
    """The task's models that can be trained, in catalog order."""
    return [name for name, model in MODELS.items() if model.task == task and model.trains]


def summarised() -> list[str]:
    """The models whose model.summary() the workflow writes: every classifier and demo."""
    return [name for name, model in MODELS.items() if model.task == CLASSIFICATION]


def task_of(name: str) -> str:
    """The task of a model of the catalog."""
    return MODELS[name].task


def size_problem(name: str, size: int) -> str | None:
    """Why model `name` cannot take size x size images ('needs ...'), None if it can."""
    model = MODELS[name]
    step = model.multiple_of
    if size % step:
        below, above = size // step * step, math.ceil(size / step) * step
        return (
            f"needs a multiple of {step}: {model.why}, so {size} px images would give {above} "
            f"px masks; allowed: {below} or {above}"
        )
    if size < model.at_least:
        return f"needs at least {model.at_least} px: {model.why}; allowed: {model.at_least} or more"
    return None


def published(name: str) -> tuple[str, float] | None:
    """The metric the book publishes for the model and its value, None where it has none."""
    model = MODELS.get(name)
    if model is None or model.published_metric is None:
        return None
    return model.published_metric, model.published_value
