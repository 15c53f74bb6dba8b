"""The laptop profile's time on this machine: each stage measured, each training added up.

Runs the real workflow (`snakemake --profile profiles/laptop`) in a copy, on synthetic archives
of the real data's size (200 pictures per breed: 7,400, sides of 200 to 500 px) instead of the
download, with every training cut to --epochs. Every job's wall time comes from its Snakemake
benchmark (measured); a training's time at the profile's epochs is its measured wall plus the
missing epochs at its own mean time per epoch after the first (added up). The whole run's
estimate is the measured wall of the snakemake run, less the synthesis (the real run downloads
instead), plus every training's missing epochs: on a machine whose cores one training fills,
trainings run one after another. On --estimate-cores, the profile's trainings (each on the
threads its set-threads gives) run side by side: the estimate there is the other jobs as
measured here plus the trainings, at this machine's speed, packed longest first onto the slots.

    python bench/laptop.py                # about 30 minutes on 2 cores
    python bench/laptop.py --epochs 2 --workdir /tmp/laptop --cores 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as common
import pandas as pd
import yaml

PARTS = ["Snakefile", "config.yaml", "config.schema.yaml", "rules", "scripts", "envs", "profiles"]
PARTS += ["report"]
COLUMNS = [
    ("job", "job", "s"),
    ("seconds", "measured s", ".0f"),
    ("epochs", "epochs measured", "d"),
    ("per_epoch", "s/epoch (2+)", ".1f"),
    ("profile_epochs", "profile epochs", "d"),
    ("estimate", "profile s (added up)", ".0f"),
]


def merged(base: dict, over: dict) -> dict:
    """base with over's keys put in, nested sections key by key (as Snakemake merges configs)."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = merged(base[key], value) if both else value
    return out


def stand_ins(folder: Path) -> dict:
    """Local files in place of what the profile fetches: ImageNet weights, class index, pictures.

    The weights are Keras's Xception with random weights, which loads and costs as the real
    file does (shared/facts.md); the pictures are the demo's synthetic pet under two names.
    """
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "xception.weights.h5"
    code = f"import keras; keras.applications.Xception(weights=None).save_weights({str(weights)!r})"
    quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", code], check=True, env=quiet)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(json.dumps(index))
    pictures = []
    for name in ("cat", "elephant"):
        shutil.copy(common.ROOT / "profiles/demo/pet.jpg", folder / f"{name}.jpg")
        pictures.append(str(folder / f"{name}.jpg"))
    return {
        "images": [pictures[0]],
        "imagenet": {
            "weights": str(weights),
            "class_index": str(folder / "imagenet_class_index.json"),
            "images": [pictures[1]],
        },
    }


def override(args: argparse.Namespace, profile: dict, interpretation: dict) -> dict:
    """The bench's changes to the profile: synthetic archives, local files, fewer epochs."""
    return {
        "dataset": {
            "source": "synthetic",
            "synthetic": {
                "images_per_breed": args.per_breed,
                "min_side": args.min_side,
                "max_side": args.max_side,
                "seed": 0,
            },
        },
        "interpretation": interpretation,
        **{
            task: {"train": {m: {"epochs": args.epochs} for m in profile[task]["models"]}}
            for task in ("segmentation", "classification")
        },
    }


def trainings(workdir: Path, profile: dict) -> dict[str, tuple[int, float, int]]:
    """Each training's benchmark name -> (epochs run, s/epoch after the first, profile's)."""
    found = {}
    for task in ("segmentation", "classification"):
        for model in profile[task]["models"]:
            for seed in profile[task]["train"][model]["seeds"]:
                history = pd.read_csv(workdir / f"results/{task}/{model}/seed_{seed}/history.csv")
                later = history.seconds.iloc[1:] if len(history) > 1 else history.seconds
                epochs = profile[task]["train"][model]["epochs"]
                found[f"{task}/train_{model}_seed_{seed}"] = (len(history), later.mean(), epochs)
    return found


def rows(workdir: Path, profile: dict) -> list[dict]:
    """One row per job, from its benchmark; trainings added up to the profile's epochs."""
    trained = trainings(workdir, profile)
    out = []
    for path in sorted((workdir / "benchmarks").rglob("*.tsv")):
        name = str(path.relative_to(workdir / "benchmarks").with_suffix(""))
        row = {"job": name, "seconds": float(pd.read_csv(path, sep="\t")["s"].iloc[-1])}
        if name in trained:
            epochs, per_epoch, profile_epochs = trained[name]
            row.update(epochs=epochs, per_epoch=per_epoch, profile_epochs=profile_epochs)
            row["estimate"] = row["seconds"] + (profile_epochs - epochs) * per_epoch
        out.append(row)
    return sorted(out, key=lambda r: -r.get("estimate", r["seconds"]))


def packed(seconds: list[float], slots: int) -> float:
    """Wall time of jobs run side by side on `slots` slots, longest first onto the freest slot."""
    ends = [0.0] * max(1, slots)
    for length in sorted(seconds, reverse=True):
        ends[ends.index(min(ends))] += length
    return max(ends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="laptop", help="a folder of profiles/")
    parser.add_argument("--epochs", type=int, default=3, help="epochs each training runs here")
    parser.add_argument("--per-breed", type=int, default=200, help="synthetic pictures per breed")
    parser.add_argument("--min-side", type=int, default=200)
    parser.add_argument("--max-side", type=int, default=500)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temporary one)")
    parser.add_argument("--estimate-cores", type=int, default=8, help="cores of the estimate")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="laptop-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        source, target = common.ROOT / part, workdir / part
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    settings = workdir / "profiles" / args.profile / f"{args.profile}.yaml"
    profile = merged(
        yaml.safe_load((workdir / "config.yaml").read_text()), yaml.safe_load(settings.read_text())
    )
    bench = override(args, profile, stand_ins(workdir / "stand_ins"))
    (workdir / "bench.yaml").write_text(yaml.safe_dump(bench))
    command = [
        *(sys.executable, "-m", "snakemake", "--profile", f"profiles/{args.profile}"),
        *("--cores", str(args.cores), "--configfile", str(settings.relative_to(workdir))),
        "bench.yaml",
    ]
    print(f"{' '.join(command)}\n  in {workdir}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, cwd=workdir, check=True)
    wall = time.perf_counter() - start

    table = rows(workdir, profile)
    synthesis = sum(r["seconds"] for r in table if r["job"].endswith("synthesize"))
    trained = [r for r in table if "estimate" in r]
    added = sum(r["estimate"] - r["seconds"] for r in trained)
    options = yaml.safe_load((workdir / "profiles" / args.profile / "config.yaml").read_text())
    threads = options.get("set-threads", {}).get("train", args.estimate_cores)
    others = wall - synthesis - sum(r["seconds"] for r in trained)
    side_by_side = others + packed([r["estimate"] for r in trained], args.estimate_cores // threads)
    cpu = platform.processor() or "unknown CPU"
    with open("/proc/cpuinfo") as info:
        cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), cpu)
    print(f"\n{cpu}, {args.cores} core(s) given to snakemake, {os.cpu_count()} present\n")
    print(common.table(table, COLUMNS))
    print(
        f"\nsnakemake run: {wall / 60:.1f} min measured (synthesis {synthesis / 60:.1f} min of "
        f"it); trainings' missing epochs: {added / 60:.1f} min added up;\nthe profile on this "
        f"machine, download left out: {(wall - synthesis + added) / 60:.0f} min;\n"
        f"on {args.estimate_cores} cores, {threads} threads a training: "
        f"{side_by_side / 60:.0f} min estimated (the other jobs as measured here, "
        f"{others / 60:.1f} min, and the trainings side by side at this machine's speed)"
    )


if __name__ == "__main__":
    main()
