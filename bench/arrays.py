"""Building the segmentation arrays: the book's load_img loop against snakevision.data.arrays.

Each variant runs in a fresh process, at dataset sizes N and k*N (the file list repeated), so
that the table shows how speed and peak memory behave as the data set grows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import _common as common
import numpy as np

COLUMNS = [
    ("variant", "variant", "s"),
    ("workers", "workers", "d"),
    ("n", "images", "d"),
    ("seconds", "seconds", ".1f"),
    ("rate", "images/s", ".0f"),
    ("speedup", "x book", ".2f"),
    ("cpu_ms", "CPU ms/image", ".2f"),
    ("before_mb", "RSS before MB", ".0f"),
    ("maxrss_mb", "peak RSS main MB", ".0f"),
    ("worker_maxrss_mb", "peak RSS 1 worker MB", ".0f"),
    ("tree_rss_mb", "peak RSS tree MB", ".0f"),
    ("tree_anon_mb", "peak anon tree MB", ".0f"),
    ("output_mb", "arrays MB", ".0f"),
]


def book(pairs: list[tuple[str, str]], size: int) -> float:
    """The book's notebook: load_img per file into preallocated arrays (float32 images)."""
    from keras.utils import img_to_array, load_img

    images = np.zeros((len(pairs), size, size, 3), dtype="float32")
    targets = np.zeros((len(pairs), size, size, 1), dtype="uint8")
    for i, (image, trimap) in enumerate(pairs):
        images[i] = img_to_array(load_img(image, target_size=(size, size)))
        mask = img_to_array(load_img(trimap, target_size=(size, size), color_mode="grayscale"))
        targets[i] = mask.astype("uint8") - 1
    return (images.nbytes + targets.nbytes) / common.MB


def ours(pairs: list[tuple[str, str]], size: int, workers: int, out: Path) -> float:
    """snakevision.data.arrays.write_stack: uint8 .npy files written in parallel, row by row."""
    from snakevision.data import arrays

    images, trimaps = zip(*pairs)
    arrays.write_stack(images, out / "images.npy", "image", size, workers)
    arrays.write_stack(trimaps, out / "masks.npy", "mask", size, workers)
    return sum(p.stat().st_size for p in out.glob("*.npy")) / common.MB


def child(args: argparse.Namespace) -> None:
    """Run one variant on the file list repeated args.repeat times and write its result."""
    pairs = [tuple(p) for p in json.loads(args.pairs.read_text())] * args.repeat[0]
    # Imports happen before the clock starts, for both: the notebook imports Keras before its
    # loop; our library pulls in pandas (half a second of CPU), once per job.
    if args.child == "book":
        import keras  # noqa: F401
    else:
        from snakevision.data import arrays  # noqa: F401

    before, cpu = common.rss_mb(), common.cpu_seconds()
    start = time.perf_counter()
    if args.child == "book":
        output = book(pairs, args.size)
    else:
        output = ours(pairs, args.size, args.workers[0], args.out)
    seconds = time.perf_counter() - start
    cpu = common.cpu_seconds() - cpu
    common.finish(
        args.result,
        variant=args.child,
        workers=args.workers[0],  # 1 for the book's loop
        n=len(pairs),
        seconds=seconds,
        rate=len(pairs) / seconds,
        cpu_ms=1000 * cpu / len(pairs),
        before_mb=before,
        output_mb=output,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images-per-breed", type=int, default=20, help="synthetic set size / 37")
    common.add_data_args(parser)
    parser.add_argument("--size", type=int, default=200, help="side of the arrays (book: 200)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[os.cpu_count()],
        help="write_stack workers; several numbers show how ours scales with cores",
    )
    parser.add_argument(
        "--repeat", type=int, nargs="+", default=[1, 4], help="dataset sizes as multiples of N"
    )
    parser.add_argument("--variants", nargs="+", default=["book", "ours"], choices=["book", "ours"])
    parser.add_argument(
        "--trials", type=int, default=1, help="runs of each variant, alternated; the fastest counts"
    )
    parser.add_argument("--pairs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    common.add_child_args(parser)
    args = parser.parse_args()
    if args.child:
        common.start_child()
        return child(args)
    with tempfile.TemporaryDirectory(prefix="bench_arrays_") as tmp:
        work = Path(tmp)
        pairs = common.pet_pairs(args, work, args.images_per_breed)
        (work / "pairs.json").write_text(json.dumps(pairs))
        print(
            f"{len(pairs)} image/trimap pairs, {args.size}x{args.size}, "
            f"workers {' '.join(map(str, args.workers))} (of {os.cpu_count()} cores), "
            f"fastest of {args.trials} trial(s)",
            flush=True,
        )
        # The book's loop is single-threaded: it runs once, ours once per number of workers.
        runs = [(v, w) for v in args.variants for w in ([1] if v == "book" else args.workers)]
        rows = []
        for k in args.repeat:
            best: dict[tuple[str, int], dict] = {}
            # Alternating the variants spreads the noise of a shared machine over all of them.
            for trial in range(1, args.trials + 1):
                for run in runs:
                    variant, workers = run
                    out = work / "out"
                    out.mkdir()
                    flags = ["--child", variant, "--pairs", work / "pairs.json", "--out", out]
                    flags += ["--repeat", k, "--size", args.size, "--workers", workers]
                    result = work / f"{variant}_{workers}_{k}.json"
                    row = common.run_child(__file__, list(map(str, flags)), result)
                    shutil.rmtree(out)
                    if run not in best or row["rate"] > best[run]["rate"]:
                        best[run] = row
                    name = variant if variant == "book" else f"{variant} ({workers} workers)"
                    rate = f"{row['rate']:.0f} images/s"
                    print(f"done: {name} x{k}, trial {trial}: {rate}", flush=True)
            rows += best.values()
        rates = {r["n"]: r["rate"] for r in rows if r["variant"] == "book"}
        for r in rows:
            r["speedup"] = r["rate"] / rates[r["n"]] if r["n"] in rates else None
        print(common.table(rows, COLUMNS))


if __name__ == "__main__":
    main()
