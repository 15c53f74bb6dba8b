"""One training step on TensorFlow against JAX, on a CPU: the models, then single layers.

Each backend runs in a fresh process with the workflow's thread limits (snakevision.job.setup).
A case trains a model on random data with train_on_batch: the first steps compile and are
left out, the next --steps are timed (wall and process CPU time). Whole models are the
workflow's builders at the demo's sizes; `segmentation, 2 parts` accumulates two half-batch
steps into one update, as micro_batches: auto does on a CPU. Layer cases put one layer
between the input and a global pooling head, so that their step is that layer's forward and
backward pass: which layer XLA compiles slowly on a CPU.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import _common as common

COLUMNS = [
    ("case", "case", "s"),
    ("tensorflow", "TensorFlow ms/step", ".1f"),
    ("jax", "JAX ms/step", ".1f"),
    ("ratio", "JAX / TF", ".1f"),
    ("tensorflow_cpu", "TF CPU ms/step", ".0f"),
    ("jax_cpu", "JAX CPU ms/step", ".0f"),
]
BACKENDS = ("tensorflow", "jax")


def layer_cases(size: int) -> dict:
    """Single layers at one feature-map size: name -> (layer factory, input shape)."""
    from keras import layers

    shape = (size, size, 64)
    return {
        "none (the 1x1 conv alone)": (lambda: layers.Identity(), shape),
        "Conv2D 3x3": (lambda: layers.Conv2D(64, 3, padding="same"), shape),
        "Conv2D 3x3 stride 2": (lambda: layers.Conv2D(64, 3, strides=2, padding="same"), shape),
        "Conv2DTranspose 3x3": (lambda: layers.Conv2DTranspose(64, 3, padding="same"), shape),
        "Conv2DTranspose 3x3 stride 2": (
            lambda: layers.Conv2DTranspose(64, 3, strides=2, padding="same"),
            shape,
        ),
        "SeparableConv2D 3x3": (lambda: layers.SeparableConv2D(64, 3, padding="same"), shape),
        "DepthwiseConv2D 3x3": (lambda: layers.DepthwiseConv2D(3, padding="same"), shape),
        "MaxPooling2D 2": (lambda: layers.MaxPooling2D(2), shape),
        "MaxPooling2D 3 stride 2 same": (
            lambda: layers.MaxPooling2D(3, strides=2, padding="same"),
            shape,
        ),
        "BatchNormalization": (lambda: layers.BatchNormalization(), shape),
        "RandomFlip": (lambda: layers.RandomFlip("horizontal", seed=0), shape),
        "RandomRotation 0.1": (lambda: layers.RandomRotation(0.1, seed=0), shape),
        "RandomZoom 0.2": (lambda: layers.RandomZoom(0.2, seed=0), shape),
    }


def model_cases(args: argparse.Namespace) -> dict:
    """The workflow's trained models at the demo's sizes: name -> (builder, parts)."""
    from snakevision.models import classification, segmentation

    seg, cls = args.segmentation_size, args.classification_size
    return {
        f"segmentation {seg} px": (lambda: segmentation.book(seg), 1),
        f"segmentation {seg} px, 2 parts": (lambda: segmentation.book(seg), 2),
        f"convnet {cls} px": (lambda: classification.convnet(cls, seed=0), 1),
        f"mini_xception {cls} px": (lambda: classification.mini_xception(cls, seed=0), 1),
    }


def single_layer(factory, shape):
    """Input -> 1x1 conv -> the layer -> global average pooling -> one sigmoid unit.

    The 1x1 convolution before it makes the step compute the layer's input gradient too, as
    every layer but the first does in a model.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=shape)
    x = layers.Conv2D(shape[-1], 1)(inputs)
    x = layers.GlobalAveragePooling2D()(factory()(x))
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


def time_steps(model, parts: int, batch: int, steps: int, warmup: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per training step (one update of `batch` images)."""
    import keras
    import numpy as np

    segmenting = model.output_shape[-1] == 3
    model.compile(
        optimizer=keras.optimizers.RMSprop(
            gradient_accumulation_steps=parts if parts > 1 else None
        ),
        loss="sparse_categorical_crossentropy" if segmenting else "binary_crossentropy",
    )
    rng = np.random.default_rng(0)
    part = batch // parts
    x = rng.integers(0, 256, (part, *model.input_shape[1:])).astype("float32")
    y_shape = (part, *model.input_shape[1:3], 1) if segmenting else (part, 1)
    y = rng.integers(0, 3 if segmenting else 2, y_shape).astype("float32")

    def step() -> None:
        for _ in range(parts):
            loss = model.train_on_batch(x, y)
        float(np.asarray(loss))  # waits for JAX's queued work

    for _ in range(warmup):
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return (
        1000 * (time.perf_counter() - wall) / steps,
        1000 * (time.process_time() - cpu) / steps,
    )


def child(args: argparse.Namespace) -> None:
    from snakevision.job import setup

    setup.limit_threads(args.threads)  # as a rule's job on this many threads
    import keras

    common.start_child()
    results = {}
    cases = {}
    if "models" in args.parts:
        cases.update(model_cases(args))
    if "layers" in args.parts:
        cases.update(
            {
                name: (lambda f=f, s=s: single_layer(f, s), 1)
                for name, (f, s) in layer_cases(args.layer_size).items()
            }
        )
    for name, (build, parts) in cases.items():
        keras.utils.set_random_seed(0)
        wall, cpu = time_steps(build(), parts, args.batch_size, args.steps, args.warmup)
        print(f"{common.PROGRESS}{name}: {wall:.1f} ms/step, CPU {cpu:.0f} ms", flush=True)
        results[name] = [wall, cpu]
    common.finish(args.result, results=results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["models", "layers"])
    parser.add_argument("--segmentation-size", type=int, default=64, help="the demo's 64")
    parser.add_argument("--classification-size", type=int, default=80, help="the demo's 80")
    parser.add_argument("--layer-size", type=int, default=32, help="side of the layer cases")
    parser.add_argument("--batch-size", type=int, default=16, help="the demo's 16")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (compilation)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    common.add_child_args(parser)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as work:
        for backend in BACKENDS:
            print(f"{backend}:", flush=True)
            flags = [*(str(a) for a in _passed(args)), "--child", backend]
            result = common.run_child(
                __file__, flags, Path(work) / f"{backend}.json", env={"KERAS_BACKEND": backend}
            )
            for name, (wall, cpu) in result["results"].items():
                rows.setdefault(name, {"case": name}).update({backend: wall, f"{backend}_cpu": cpu})
    for row in rows.values():
        row["ratio"] = row["jax"] / row["tensorflow"]
    print(common.table(list(rows.values()), COLUMNS))


def _passed(args: argparse.Namespace) -> list:
    """The parent's flags, for its children."""
    return [
        "--parts",
        *args.parts,
        *("--segmentation-size", args.segmentation_size),
        *("--classification-size", args.classification_size),
        *("--layer-size", args.layer_size, "--batch-size", args.batch_size),
        *("--steps", args.steps, "--warmup", args.warmup, "--threads", args.threads),
    ]


if __name__ == "__main__":
    main()
