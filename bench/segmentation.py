"""Training the segmentation models: the pipeline's trainer.fit against the notebook's fit.

pipeline: snakevision.training.trainer.fit on uint8 arrays memory-mapped from .npy files, with its
precision policy, checkpoints and resume state, for each of --models (the book's model, the
U-Net). notebook: the book's code for the book's model, float32 images and uint8 targets in
memory, compile(rmsprop, sparse_categorical_crossentropy), fit with its best-only
ModelCheckpoint. Each run is a fresh process; all are scored the same way, by
snakevision.evaluation.scoring.segmentation of the best (lowest val_loss) model on the
validation arrays.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import _common as common
import numpy as np
from snakevision.models import catalog

MODELS = tuple(catalog.trained(catalog.SEGMENTATION))

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
    ("speedup", "x notebook", ".2f"),
    ("best", "best epoch images/s", ".1f"),
    ("cpu_ms", "CPU ms/image", ".0f"),
    ("cost", "CPU x book", ".2f"),
    ("overall", "images/s overall", ".1f"),
    ("iou", "val mean IoU", ".3f"),
    ("maxrss_mb", "peak RSS MB", ".0f"),
    ("tree_rss_mb", "peak RSS tree MB", ".0f"),
    ("tree_anon_mb", "peak anon tree MB", ".0f"),
]
DATA = ("train_images", "train_masks", "val_images", "val_masks")


def prepare(args: argparse.Namespace, work: Path) -> None:
    """Write the uint8 train/val arrays: synthetic (or real) pets, or random noise."""
    n, nv, size = args.num_images, args.num_val, args.image_size
    if args.random:
        common.random_arrays(work, "train", n, size, "masks")
        common.random_arrays(work, "val", nv, size, "masks")
        return
    from snakevision.data import arrays

    pairs = common.pet_pairs(args, work, math.ceil((n + nv) / 37) + 1)
    if len(pairs) < n + nv:
        raise SystemExit(f"only {len(pairs)} usable pairs for {n} + {nv} images")
    # The book shuffles with random.Random(1337); any fixed order serves a benchmark.
    order = np.random.default_rng(1337).permutation(len(pairs))
    train, val = [pairs[i] for i in order[:n]], [pairs[i] for i in order[n : n + nv]]
    for name, rows in (("train", train), ("val", val)):
        images, trimaps = zip(*rows)
        arrays.write_stack(images, work / f"{name}_images.npy", "image", size, os.cpu_count())
        arrays.write_stack(trimaps, work / f"{name}_masks.npy", "mask", size, os.cpu_count())


def pipeline(args: argparse.Namespace, data: dict[str, Path], out: Path, timer) -> dict:
    """The workflow's rule train (a segmentation model), thread limits included."""
    from snakevision.job import setup

    setup.limit_threads(os.cpu_count() or 1)  # what the rule's threads give it on one machine
    from snakevision.data.npy import Rows
    from snakevision.models import segmentation
    from snakevision.training import trainer

    common.time_every_fit(timer, args.steps_per_epoch)
    load = {k: Rows(v) for k, v in data.items()}
    build = segmentation.BUILDERS[args.model]
    start = time.perf_counter()
    history = trainer.fit(
        lambda: build(args.image_size),
        trainer.OBJECTIVES["segmentation"],
        trainer.Settings(
            args.epochs,
            args.batch,
            precision=args.policy,
            steps_per_execution=args.steps_per_execution,
            micro_batches=args.parts,
        ),
        train=(load["train_images"], load["train_masks"]),
        val=(load["val_images"], load["val_masks"]),
        model_path=out / "model.keras",
        history_path=out / "history.csv",
        state_dir=out / "state",
    )
    wall = time.perf_counter() - start
    return dict(
        wall=wall,
        policy=history.precision[0],
        parts=int(history.micro_batches[0]),
        model=out / "model.keras",
    )


def notebook(args: argparse.Namespace, data: dict[str, Path], out: Path, timer) -> dict:
    """The book's notebook: float32 arrays in memory and a plain compile/fit."""
    import keras
    from snakevision.models import segmentation

    keras.utils.set_random_seed(1337)
    model = segmentation.book(args.image_size)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    best = out / "oxford_segmentation.keras"
    wall = common.notebook_fit(model, data, "masks", args, best, timer)
    return dict(wall=wall, policy="float32", parts=1, model=best)


def child(args: argparse.Namespace) -> None:
    """Train one variant, score its best model on the validation arrays, write the result."""
    data = {k: args.data / f"{k}.npy" for k in DATA}
    out = args.data / f"out_{args.result.stem}"
    from snakevision.data.npy import Rows

    n = len(Rows(data["train_images"]))
    timer = common.epoch_timer(common.images_per_epoch(n, args))
    train = pipeline if args.child == "pipeline" else notebook
    run = train(args, data, out, timer)
    import keras
    from snakevision.evaluation import scoring

    model = keras.models.load_model(run["model"])
    val = [Rows(data[k]) for k in ("val_images", "val_masks")]
    # Small scoring batches: the peak memory columns are training's, not the scoring's.
    scores = scoring.segmentation(model, *val, 8)
    common.finish(
        args.result,
        model=args.model,
        variant=args.child,
        policy=run["policy"],
        batch=args.batch,
        parts=run["parts"],
        iou=scores["mean_iou"],
        **common.speeds(timer, n, run["wall"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    common.add_training_args(parser, image_size=200, num_images=1024, epochs=5, batch=64)
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(MODELS),
        choices=MODELS,
        help="pipeline runs of each (the notebook's: the book's model only)",
    )
    parser.add_argument("--no-notebook", action="store_true", help="skip the notebook runs")
    parser.add_argument("--random", action="store_true", help="random uint8 data (no IoU meaning)")
    common.add_data_args(parser)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="book", choices=MODELS, help=argparse.SUPPRESS)
    common.add_child_args(parser)
    args = parser.parse_args()
    if args.child:
        common.start_child()
        return child(args)
    env = {"KERAS_BACKEND": args.backend}
    with tempfile.TemporaryDirectory(prefix="bench_segmentation_") as tmp:
        work = Path(tmp)
        prepare(args, work)
        print(
            f"{args.num_images} train / {args.num_val} val images, {args.image_size}px, "
            f"{args.epochs} epochs, backend {args.backend}",
            flush=True,
        )
        runs = common.pipeline_runs(args, None if args.no_notebook else "notebook")
        rows = []
        for batch in args.batch_size:
            for model in args.models:
                for variant, policy, parts in runs:
                    if variant == "notebook" and model != "book":
                        continue  # the notebook is the book's code for the book's model
                    if catalog.MODELS[model].batch_norm and parts not in (1, "auto"):
                        print(f"skipped: {model} has batch normalization, no micro-batches")
                        continue
                    flags = common.training_flags(args, variant, batch, policy, parts)
                    flags += ["--data", work, "--model", model]
                    result = work / f"{model}_{variant}_{policy}_{batch}_{parts}.json"
                    row = common.run_child(__file__, list(map(str, flags)), result, env)
                    rows.append({**row, "asked": parts})
                    print(
                        f"done: {model} {variant} {policy} batch {batch}, micro-batches {parts}",
                        flush=True,
                    )
        base = {r["batch"]: r["rate"] for r in rows if r["variant"] == "notebook"}
        # The cost of a model's training image against the book's, same variant and settings.
        book = {
            (r["variant"], r["policy"], r["batch"], r["asked"]): r["cpu_ms"]
            for r in rows
            if r["model"] == "book"
        }
        for r in rows:
            notebook = base.get(r["batch"]) if r["model"] == "book" else None
            r["speedup"] = r["rate"] / notebook if notebook else None
            same = book.get((r["variant"], r["policy"], r["batch"], r["asked"]))
            r["cost"] = r["cpu_ms"] / same if same else None
        print(common.table(rows, COLUMNS))


if __name__ == "__main__":
    main()
