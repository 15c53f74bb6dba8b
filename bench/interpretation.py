"""Filter patterns: the book's code against the stage's batched ascent, on Xception.

book: the book's loop, one filter at a time: a compiled step (tf.function; jax.jit on JAX)
called with the filter's index as a Python number, 30 steps, 64 times. stage:
snakevision.interpretation.filters.ascend, each image of a batch ascending its own filter, one
gradient call per step for the batch, at each --batch-size. Both start from the same noise
on the same random-weight Xception (weights=None does the same arithmetic as ImageNet's) up to
block3_sepconv1 at 200x200, each in a fresh process; the table gives the wall time of the
whole grid (compilation included), peak memory, and how far each variant's pictures are from
the book's.

    python bench/interpretation.py                      # TensorFlow, this machine
    KERAS_BACKEND=jax python bench/interpretation.py    # JAX, e.g. on a GPU
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import _common as common
import numpy as np

COLUMNS = [
    ("variant", "variant", "s"),
    ("batch", "batch", "d"),
    ("seconds", "grid s", ".1f"),
    ("ms_per_step", "ms per filter-step", ".1f"),
    ("speedup", "x book", ".2f"),
    ("corr", "min corr. with book", ".4f"),
    ("diff", "mean |diff| vs book /255", ".2f"),
    ("tree_rss_mb", "peak RSS MB", ".0f"),
]


def extractor(args: argparse.Namespace):
    """Random-weight Xception up to the layer, seeded alike in every child."""
    import keras

    keras.utils.set_random_seed(0)
    base = keras.applications.Xception(
        weights=None, include_top=False, input_shape=(args.size, args.size, 3)
    )
    return keras.Model(base.input, base.get_layer(args.layer).output)


def book_patterns(model, starts: np.ndarray, steps: int, learning_rate: float) -> np.ndarray:
    """The book's generate_filter_pattern for each filter in turn (TF), or its JAX port."""
    import keras
    from keras import ops

    def compute_loss(image, filter_index):
        activation = model(image)
        return ops.mean(activation[:, 2:-2, 2:-2, filter_index])

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        @tf.function
        def gradient_ascent_step(image, filter_index, learning_rate):
            with tf.GradientTape() as tape:
                tape.watch(image)
                loss = compute_loss(image, filter_index)
            grads = tape.gradient(loss, image)
            grads = tf.math.l2_normalize(grads)
            return image + learning_rate * grads

    else:
        import jax

        grad_of_loss = jax.grad(compute_loss)

        def step(image, filter_index, learning_rate):
            grads = grad_of_loss(image, filter_index)
            grads = grads / jax.numpy.sqrt(jax.numpy.maximum(jax.numpy.sum(grads**2), 1e-12))
            return image + learning_rate * grads

        gradient_ascent_step = jax.jit(step, static_argnums=1)

    patterns = []
    for filter_index, start in enumerate(starts):
        image = start[None]
        for _ in range(steps):
            image = gradient_ascent_step(image, filter_index, learning_rate)
        patterns.append(np.asarray(image[0]))
        print(f"{common.PROGRESS}book: filter {filter_index + 1}", flush=True)
    return np.stack(patterns)


def child(args: argparse.Namespace) -> None:
    from snakevision.interpretation import filters

    common.start_child()
    model = extractor(args)
    start = time.perf_counter()
    if args.child == "book":
        starts = filters.starts(args.filters, args.size, args.seed)
        patterns = book_patterns(model, starts, args.steps, args.learning_rate)
    else:
        patterns = filters.ascend(
            model,
            list(range(args.filters)),
            args.size,
            steps=args.steps,
            learning_rate=args.learning_rate,
            batch_size=args.batch,
            seed=args.seed,
        )
    seconds = time.perf_counter() - start
    np.save(args.result.with_suffix(".npy"), patterns)
    common.finish(args.result, seconds=seconds)


def cpu_name() -> str:
    """The CPU's model name (Linux), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--filters", type=int, default=64, help="the book's 8x8 grid")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--layer", default="block3_sepconv1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-book", action="store_true", help="the stage's variants only")
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    common.add_child_args(parser)
    args = parser.parse_args()
    if args.child:
        return child(args)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(f"{cpu_name()}, {os.cpu_count()} CPUs; backend {backend}; Xception {args.layer} at")
    print(f"{args.size}x{args.size}, {args.filters} filters x {args.steps} steps\n")
    flags = ["--filters", args.filters, "--steps", args.steps, "--size", args.size]
    flags += ["--layer", args.layer, "--learning-rate", args.learning_rate, "--seed", args.seed]
    runs = ([] if args.skip_book else [("book", 1)]) + [("stage", b) for b in args.batch_size]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for variant, batch in runs:
            result = Path(work) / f"{variant}_{batch}.json"
            argv = ["--child", variant, "--batch", batch, *flags]
            row = common.run_child(__file__, [str(a) for a in argv], result)
            row.update(variant=variant, batch=batch)
            row["ms_per_step"] = 1000 * row["seconds"] / (args.filters * args.steps)
            row["patterns"] = np.load(result.with_suffix(".npy"))
            rows.append(row)
    book = next((r for r in rows if r["variant"] == "book"), None)
    for row in rows:
        if book:
            row["speedup"] = book["seconds"] / row["seconds"]
            row.update(agreement(row["patterns"], book["patterns"], args.size))
    print(common.table(rows, COLUMNS))


def agreement(patterns: np.ndarray, book: np.ndarray, size: int) -> dict:
    """How alike two sets of patterns are: the least correlated pair, and the mean difference
    of the displayed (deprocessed) pictures in grey levels.

    Batched convolutions add in another order: differences of 1e-7 flip a few relus, which
    30 steps along a normalised gradient carry to a few pixels; the pictures stay the same.
    """
    from snakevision.interpretation import filters

    crop = filters.crop_for(size)
    shown = [
        np.stack([filters.deprocess(x, crop) for x in p]).astype(float) for p in (patterns, book)
    ]
    return {
        "corr": min(np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(patterns, book)),
        "diff": float(np.abs(shown[0] - shown[1]).mean()),
    }


if __name__ == "__main__":
    main()
