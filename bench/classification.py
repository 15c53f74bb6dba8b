"""Training speed of the cats-vs-dogs models (convnet, mini Xception) through trainer.fit.

Random uint8 images and labels in memory-mapped .npy files, as the workflow stores them; one
fresh process per model, batch size and precision. With --plain, each model also trains the
plain-Keras way (float32 arrays in memory, compile/fit) for a side-by-side baseline.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import _common as common

COLUMNS = [
    ("model", "model", "s"),
    ("variant", "variant", "s"),
    ("policy", "precision", "s"),
    ("batch", "batch", "d"),
    ("parts", "micro-batches", "d"),
    ("n", "train images", "d"),
    ("seen", "images per epoch", "d"),
    ("first_s", "epoch 1 s", ".1f"),
    ("rate", "images/s (epochs 2+)", ".1f"),
    ("best", "best epoch images/s", ".1f"),
    ("cpu_ms", "CPU ms/image", ".0f"),
    ("overall", "images/s overall", ".1f"),
    ("maxrss_mb", "peak RSS MB", ".0f"),
    ("tree_rss_mb", "peak RSS tree MB", ".0f"),
    ("tree_anon_mb", "peak anon tree MB", ".0f"),
]
DATA = ("train_images", "train_labels", "val_images", "val_labels")


def pipeline(args: argparse.Namespace, data: dict[str, Path], out: Path, timer) -> dict:
    """The workflow's rule train (a classifier), thread limits included."""
    from snakevision.job import setup

    setup.limit_threads(os.cpu_count() or 1)
    from snakevision.data.npy import Rows
    from snakevision.models import classification
    from snakevision.training import trainer

    common.time_every_fit(timer, args.steps_per_epoch)
    load = {k: Rows(v) for k, v in data.items()}
    settings = trainer.Settings(
        args.epochs,
        args.batch,
        precision=args.policy,
        steps_per_execution=args.steps_per_execution,
        micro_batches=args.parts,
    )
    build = classification.BUILDERS[args.model]
    start = time.perf_counter()
    history = trainer.fit(
        lambda: build(args.image_size, seed=settings.seed),
        trainer.OBJECTIVES["classification"],
        settings,
        train=(load["train_images"], load["train_labels"]),
        val=(load["val_images"], load["val_labels"]),
        model_path=out / "model.keras",
        history_path=out / "history.csv",
        state_dir=out / "state",
    )
    return dict(
        wall=time.perf_counter() - start,
        policy=history.precision[0],
        parts=int(history.micro_batches[0]),
    )


def plain(args: argparse.Namespace, data: dict[str, Path], out: Path, timer) -> dict:
    """Plain Keras: float32 arrays in memory, compile, fit, best checkpoint."""
    import keras
    from snakevision.models import classification

    keras.utils.set_random_seed(1337)
    model = classification.BUILDERS[args.model](args.image_size)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    wall = common.notebook_fit(model, data, "labels", args, out / "best.keras", timer, "float32")
    return dict(wall=wall, policy="float32", parts=1)


def child(args: argparse.Namespace) -> None:
    """Train one model one way and write its speed."""
    data = {k: args.data / f"{k}.npy" for k in DATA}
    out = args.data / f"out_{args.result.stem}"
    from snakevision.data.npy import Rows

    n = len(Rows(data["train_images"]))
    timer = common.epoch_timer(common.images_per_epoch(n, args))
    run = (pipeline if args.child == "pipeline" else plain)(args, data, out, timer)
    common.finish(
        args.result,
        model=args.model,
        variant=args.child,
        policy=run["policy"],
        batch=args.batch,
        parts=run["parts"],
        **common.speeds(timer, n, run["wall"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--models", nargs="+", default=["convnet", "mini_xception"], help="one run each"
    )
    common.add_training_args(parser, image_size=180, num_images=2000, epochs=4, batch=32)
    parser.add_argument("--plain", action="store_true", help="also train the plain-Keras way")
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    common.add_child_args(parser)
    args = parser.parse_args()
    if args.child:
        common.start_child()
        return child(args)
    env = {"KERAS_BACKEND": args.backend}
    with tempfile.TemporaryDirectory(prefix="bench_classification_") as tmp:
        work = Path(tmp)
        common.random_arrays(work, "train", args.num_images, args.image_size, "labels")
        common.random_arrays(work, "val", args.num_val, args.image_size, "labels")
        print(
            f"{args.num_images} train / {args.num_val} val random images, {args.image_size}px, "
            f"{args.epochs} epochs, backend {args.backend}",
            flush=True,
        )
        runs = common.pipeline_runs(args, "plain" if args.plain else None)
        rows = []
        for model in args.models:
            for batch in args.batch_size:
                for variant, policy, parts in runs:
                    flags = common.training_flags(args, variant, batch, policy, parts)
                    flags += ["--data", work, "--model", model]
                    result = work / f"{model}_{variant}_{policy}_{batch}_{parts}.json"
                    rows.append(common.run_child(__file__, list(map(str, flags)), result, env))
                    print(f"done: {model} {variant} {policy} batch {batch}", flush=True)
        print(common.table(rows, COLUMNS))


if __name__ == "__main__":
    main()
