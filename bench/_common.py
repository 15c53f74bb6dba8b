"""Shared by the benchmarks: library path, test data, runs in fresh processes, tables."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # the library, as Snakemake and pytest see it

MB = 1 << 20
PROGRESS = "progress: "  # a child's lines that its parent shows as they come


def add_child_args(parser: argparse.ArgumentParser) -> None:
    """Hidden flags with which a benchmark runs one variant of itself in a fresh process."""
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)


def start_child() -> None:
    """Log the library's progress (per-epoch lines) to the child's log file."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")


def add_data_args(parser: argparse.ArgumentParser) -> None:
    """Flags choosing real pet files or synthetic ones."""
    parser.add_argument("--images", type=Path, help="folder of real pet .jpg files")
    parser.add_argument("--trimaps", type=Path, help="folder of real trimap .png files")
    parser.add_argument("--min-side", type=int, default=300, help="synthetic picture sides")
    parser.add_argument("--max-side", type=int, default=500, help="(real data: often 500x375)")


def pet_pairs(args: argparse.Namespace, work: Path, per_breed: int) -> list[tuple[str, str]]:
    """Usable (image, trimap) paths: real ones from flags, else per_breed synthetic per breed."""
    from snakevision.data import archives, pets, synthetic

    if args.images or args.trimaps:
        images, trimaps = args.images, args.trimaps
    else:
        t0 = time.perf_counter()
        synthetic.write_archives(
            work / "images.tar.gz",
            work / "annotations.tar.gz",
            images_per_breed=per_breed,
            seed=0,
            min_side=args.min_side,
            max_side=args.max_side,
            workers=os.cpu_count() or 1,
        )
        archives.extract(work / "images.tar.gz", work / "images", "images")
        archives.extract(work / "annotations.tar.gz", work / "annotations", "annotations")
        images, trimaps = work / "images", work / "annotations" / "trimaps"
        print(f"synthesized {37 * per_breed} pictures in {time.perf_counter() - t0:.0f} s")
    index = pets.build_index(images, trimaps, workers=os.cpu_count() or 1)
    ok = index[index.status == "ok"]
    return list(zip(ok.image, ok.trimap))


def random_arrays(folder: Path, name: str, n: int, size: int, labels: str) -> None:
    """Write {name}_images.npy (uint8 noise) and masks (0..2) or labels (0/1) beside it."""
    rng = np.random.default_rng(0)
    np.save(folder / f"{name}_images.npy", rng.integers(0, 256, (n, size, size, 3), np.uint8))
    shape = (n, size, size, 1) if labels == "masks" else (n,)
    values = rng.integers(0, 3 if labels == "masks" else 2, shape, np.uint8)
    np.save(folder / f"{name}_{labels}.npy", values)


def _memory(pid: int) -> tuple[int, int]:
    """(resident, anonymous resident) bytes of a process, from /proc/PID/status (Linux)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        fields = dict(line.split(":", 1) for line in lines)
        return tuple(int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "RssAnon"))
    except (OSError, KeyError):  # gone, or a zombie without memory lines
        return 0, 0


def run_child(script: str, args: Sequence[str], result: Path, env: dict | None = None) -> dict:
    """Run `script --child ...` in a fresh process; return its result plus peak memory.

    The child's output goes to a log beside result; its progress lines (PROGRESS) are echoed
    here as they come, so a run stopped by a timeout still shows the epochs it finished.
    Peak memory is sampled every 50 ms as the sum over the child and all its descendants
    (pool workers included) of resident memory, and of its anonymous part (not file pages
    such as memory-mapped .npy files, which the kernel can drop). Shared pages count once
    per process, so for several processes the sum is an upper bound.
    """
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    log = result.with_suffix(".log")
    command = [sys.executable, script, *args, "--result", str(result)]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    copier = threading.Thread(target=_copy_output, args=(proc.stdout, log, result.stem))
    copier.start()
    root = psutil.Process(proc.pid)
    peak, peak_anon = 0, 0
    while proc.poll() is None:
        try:
            pids = [proc.pid, *(p.pid for p in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            pids = []
        sizes = [_memory(pid) for pid in pids]
        peak = max(peak, sum(r for r, _ in sizes))
        peak_anon = max(peak_anon, sum(a for _, a in sizes))
        time.sleep(0.05)
    copier.join()
    if proc.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        sys.exit(f"{' '.join(command)} failed ({proc.returncode}):\n{tail}")
    values = json.loads(result.read_text())
    values.update(tree_rss_mb=peak / MB, tree_anon_mb=peak_anon / MB)
    return values


def _copy_output(stream, log: Path, label: str) -> None:
    """Write a child's output to its log, echoing its progress lines prefixed with label."""
    with open(log, "w") as out:
        for line in stream:
            out.write(line)
            if line.startswith(PROGRESS):
                print(f"  {label}: {line[len(PROGRESS) :].strip()}", flush=True)


def finish(result: Path, **values: object) -> None:
    """Write a child's result with its exact peak RSS and its largest worker's."""
    values["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB
    values["worker_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / MB
    result.write_text(json.dumps(values))


def cpu_seconds() -> float:
    """User plus system CPU time of this process and its finished children so far."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rss_mb() -> float:
    """This process's resident memory now."""
    return psutil.Process().memory_info().rss / MB


def epoch_timer(images_per_epoch: int):
    """A Keras callback collecting each epoch's training wall and CPU seconds (no validation).

    CPU seconds (all threads of the process) barely change when other jobs share the machine,
    so they show a variant's cost where wall times are noisy. Each epoch is also printed as a
    progress line.
    """
    import keras

    class Timer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.images = images_per_epoch
            self.seconds: list[float] = []
            self.cpu: list[float] = []

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.start = self.stop = time.perf_counter()
            self.cpu_start = self.cpu_stop = time.process_time()

        def on_test_begin(self, logs=None) -> None:
            keras.ops.convert_to_numpy(self.model.optimizer.iterations)  # JAX queues steps ahead
            self.stop, self.cpu_stop = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None) -> None:
            if self.stop == self.start:  # no validation this epoch
                self.stop, self.cpu_stop = time.perf_counter(), time.process_time()
            self.seconds.append(self.stop - self.start)
            self.cpu.append(self.cpu_stop - self.cpu_start)
            print(
                f"{PROGRESS}epoch {epoch + 1}: {self.seconds[-1]:.2f} s training, "
                f"{self.images / self.seconds[-1]:,.0f} images/s, CPU {self.cpu[-1]:.1f} s",
                flush=True,
            )

    return Timer()


def images_per_epoch(n: int, args: argparse.Namespace) -> int:
    """Training images an epoch sees: all n, or fewer with --steps-per-epoch."""
    return min(n, (args.steps_per_epoch or n) * args.batch)


def time_every_fit(timer, steps_per_epoch: int | None = None) -> None:
    """Add timer (and a step limit) to every Model.fit, so code we do not own runs alike."""
    import keras

    fit = keras.Model.fit

    def timed(self, x=None, *args, callbacks=None, **kwargs):
        callbacks = [*(callbacks or []), timer]
        # Keras counts steps in micro-batches, where batches.Batches splits each batch.
        steps = steps_per_epoch and steps_per_epoch * getattr(x, "parts", 1)
        return fit(self, x, *args, callbacks=callbacks, steps_per_epoch=steps, **kwargs)

    keras.Model.fit = timed


def speeds(timer, n: int, wall: float) -> dict:
    """The speed figures of a training run from its timer: steady, best epoch, overall, CPU.

    n is the training set's size; with --steps-per-epoch an epoch sees fewer (timer.images).
    """
    seen = timer.images
    rest = slice(1, None) if len(timer.seconds) > 1 else slice(None)
    return dict(
        n=n,
        seen=seen,
        first_s=timer.seconds[0],
        rate=seen * len(timer.seconds[rest]) / sum(timer.seconds[rest]),
        best=seen / min(timer.seconds[rest]),
        overall=seen * len(timer.seconds) / wall,
        cpu_ms=1000 * sum(timer.cpu[rest]) / (seen * len(timer.cpu[rest])),
    )


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """A markdown table of rows; columns are (key, header, format), '' for a missing value."""
    head = [h for _, h, _ in columns]
    body = [[format(r[k], f) if r.get(k) is not None else "" for k, _, f in columns] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = [head, ["-" * w for w in widths], *body]
    return "\n".join("| " + " | ".join(x.rjust(w) for x, w in zip(r, widths)) + " |" for r in lines)


def add_training_args(
    parser: argparse.ArgumentParser, *, image_size: int, num_images: int, epochs: int, batch: int
) -> None:
    """Flags shared by the training benchmarks, and the hidden ones their children take."""
    parser.add_argument(
        "--image-size", type=int, default=image_size, help=f"the book: {image_size}"
    )
    parser.add_argument("--num-images", type=int, default=num_images, help="training images")
    parser.add_argument("--num-val", type=int, default=256, help="validation images")
    parser.add_argument("--epochs", type=int, default=epochs, help="at least 2: epoch 1 compiles")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[batch], help="one run each")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["auto"],
        choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
        help="pipeline runs, one per policy",
    )
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"])
    parser.add_argument(
        "--steps-per-execution", type=int, default=1, help="pipeline: batches per compiled call"
    )
    parser.add_argument(
        "--steps-per-epoch",
        type=int,
        help="train only this many batches per epoch: peak memory of a large set in minutes",
    )
    parser.add_argument(
        "--micro-batches",
        nargs="+",
        default=[1],
        type=micro_batches,
        help="pipeline runs, one per value: parts per batch (gradients averaged), or auto",
    )
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--policy", help=argparse.SUPPRESS)
    parser.add_argument("--parts", type=micro_batches, default=1, help=argparse.SUPPRESS)


def micro_batches(value: str) -> int | str:
    """A --micro-batches value: auto or a whole number, as training.Settings takes it."""
    return value if value == "auto" else int(value)


def pipeline_runs(args: argparse.Namespace, baseline: str | None) -> list[tuple[str, str, int]]:
    """(variant, policy, micro-batches) of each run: the pipeline's, then the baseline's."""
    runs = [("pipeline", p, m) for p in args.precision for m in args.micro_batches]
    return runs + ([(baseline, "float32", 1)] if baseline else [])


def training_flags(
    args: argparse.Namespace, variant: str, batch: int, policy: str, parts: int | str
) -> list:
    """The flags of add_training_args that a child run of one variant takes from its parent."""
    flags = ["--child", variant, "--batch", batch, "--policy", policy, "--epochs", args.epochs]
    flags += ["--parts", parts]
    flags += ["--image-size", args.image_size, "--steps-per-execution", args.steps_per_execution]
    return flags + (["--steps-per-epoch", args.steps_per_epoch] if args.steps_per_epoch else [])


def notebook_fit(
    model, data: dict[str, Path], labels: str, args, best: Path, timer, label_dtype=None
):
    """Train the book's way: float32 images in memory, fit with a best-only checkpoint.

    Returns the wall seconds of the whole fit.
    """
    import keras

    x, vx = (np.load(data[f"{s}_images"]).astype("float32") for s in ("train", "val"))
    y, vy = (np.load(data[f"{s}_{labels}"]) for s in ("train", "val"))
    if label_dtype:
        y, vy = y.astype(label_dtype), vy.astype(label_dtype)
    checkpoint = keras.callbacks.ModelCheckpoint(str(best), save_best_only=True)
    start = time.perf_counter()
    model.fit(
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch,
        validation_data=(vx, vy),
        steps_per_epoch=args.steps_per_epoch,
        callbacks=[checkpoint, timer],
        verbose=0,
    )
    return time.perf_counter() - start
