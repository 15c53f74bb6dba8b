"""The offline generator (rule synthesize): time and peak memory against workers and set size.

Each run is a fresh process writing both archives; the sha256 column shows that the archives
do not depend on the number of workers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import _common as common

COLUMNS = [
    ("per_breed", "per breed", "d"),
    ("pictures", "pictures", "d"),
    ("workers", "workers", "d"),
    ("seconds", "seconds", ".1f"),
    ("rate", "pictures/s", ".1f"),
    ("cpu_ms", "CPU ms/picture", ".1f"),
    ("maxrss_mb", "peak RSS main MB", ".0f"),
    ("tree_rss_mb", "peak RSS tree MB", ".0f"),
    ("output_mb", "archives MB", ".0f"),
    ("sha256", "images sha256", "s"),
]


def child(args: argparse.Namespace) -> None:
    """Write the archives once and record the cost."""
    from snakevision.data import archives, synthetic

    per_breed, workers = args.per_breed[0], args.workers[0]
    images, annotations = args.out / "images.tar.gz", args.out / "annotations.tar.gz"
    cpu, start = common.cpu_seconds(), time.perf_counter()
    synthetic.write_archives(
        images,
        annotations,
        images_per_breed=per_breed,
        seed=0,
        min_side=args.min_side,
        max_side=args.max_side,
        workers=workers,
    )
    seconds, cpu = time.perf_counter() - start, common.cpu_seconds() - cpu
    pictures = 37 * per_breed
    common.finish(
        args.result,
        per_breed=per_breed,
        pictures=pictures,
        workers=workers,
        seconds=seconds,
        rate=pictures / seconds,
        cpu_ms=1000 * cpu / pictures,
        output_mb=(images.stat().st_size + annotations.stat().st_size) / common.MB,
        sha256=archives.digest_of(images)[:12],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-breed", type=int, nargs="+", default=[20, 80], help="set sizes / 37")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, os.cpu_count() or 1], help="processes"
    )
    parser.add_argument("--min-side", type=int, default=375, help="picture sides (real: 500x375)")
    parser.add_argument("--max-side", type=int, default=500)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    common.add_child_args(parser)
    args = parser.parse_args()
    if args.child:
        return child(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_synthesize_") as tmp:
        for per_breed in args.per_breed:
            for workers in args.workers:
                out = Path(tmp) / f"{per_breed}_{workers}"
                out.mkdir()
                flags = ["--child", "run", "--out", out, "--per-breed", per_breed]
                flags += ["--workers", workers, "--min-side", args.min_side]
                flags += ["--max-side", args.max_side]
                result = Path(tmp) / f"{per_breed}_{workers}.json"
                rows.append(common.run_child(__file__, list(map(str, flags)), result))
                print(f"done: {37 * per_breed} pictures, {workers} worker(s)", flush=True)
    print(common.table(rows, COLUMNS))


if __name__ == "__main__":
    main()
