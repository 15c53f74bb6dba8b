# Shared by every stage: the path roots and config shortcuts first, then the thin functions
# rules call (the logic lives in the library). Included first: the stage files use these names.

import functools
import os
import re

from snakemake.exceptions import WorkflowError
from snakemake.io import regex_from_filepattern
from snakevision.config.imports import library_modules
from snakevision.config.runs import all_runs, chosen, lookup_table
from snakevision.data import pictures
from snakevision.interpretation import imagenet
from snakevision.interpretation.plan import plan
from snakevision.models import catalog
from snakevision.models.tasks import CLASSIFICATION, SEGMENTATION, TASKS

# Path roots.
SCRIPTS = Path(workflow.basedir) / "scripts"
ENV = "../envs/snakevision.yaml"
DATA = "results/data"
TASK_DATA = "results/data/{task}"  # one task's split and arrays
RUN = "results/{task}/{run}"  # a run over its seeds: its summary and gallery
TRAINING = "results/{task}/{run}/seed_{seed}"  # one training: model, history, metrics, curves
SEG = "results/segmentation"
CLS = "results/classification"
INTERP = "results/interpretation"
PREDICT = "results/predict"
REPORT = "results/report"
# Pictures config names by URL (rule fetch_picture), the ImageNet Xception's files.
PICTURES = "resources/pictures"
FETCHED = "resources/interpretation"

# Config shortcuts.
BACKEND = config["keras_backend"]
ARCHIVES = ["images", "annotations"]
# Each task's runs (its `models`, sweeps expanded): an architecture and its settings each.
RUNS = all_runs(config)
# task -> run -> its architecture, seeds, length, batch, memory, published figure: lookup().
RUN_TABLE = lookup_table(RUNS, {task: config[task]["image_size"] for task in TASKS})
SEGMENTERS, CLASSIFIERS = list(RUNS[SEGMENTATION]), list(RUNS[CLASSIFICATION])
SUMMARISED = catalog.summarised()
INTERPRETATION = config["interpretation"]
IMAGENET = catalog.IMAGENET
USE_IMAGENET = INTERPRETATION["imagenet"]["weights"] != "none"
# The runs later stages use: those listed, or each task's runs named after their architecture.
LISTED = INTERPRETATION.get("models")
EXPLAINED = [
    *chosen({CLASSIFICATION: RUNS[CLASSIFICATION]}, LISTED)[CLASSIFICATION],
    *([IMAGENET] if USE_IMAGENET and (LISTED is None or IMAGENET in LISTED) else []),
]
PREDICTED = chosen(RUNS, config["predict"].get("models"))
PICTURE_LISTS = {
    "interpretation.images": INTERPRETATION["images"],
    # Left out with the ImageNet Xception, as the config check leaves them.
    "interpretation.imagenet.images": (
        INTERPRETATION["imagenet"]["images"] if USE_IMAGENET else []
    ),
    "predict.images": config["predict"]["images"],
}
URLS = pictures.url_table(PICTURE_LISTS)  # file name -> {url, key}
# Output name -> the photo's config entry, the file read, its sha256 (new content reruns).
PHOTOS = pictures.photos(config["predict"]["images"], PICTURES)
# Filter ascent's settings but the layers: adding a layer draws only that one.
FILTERS = {k: v for k, v in INTERPRETATION["filters"].items() if k != "layers"}
# Explained model -> its pictures and layers (interpretation.plan), for lookup().
EXPLANATIONS = plan(INTERPRETATION, EXPLAINED, RUNS[CLASSIFICATION], IMAGENET, PICTURES)
CATEGORIES = {name: task.category for name, task in TASKS.items()}  # the report's sections
# Threads of the parallel rules (decoding, training): Snakemake scales them down to --cores on
# one machine; on a cluster each such job asks for this many CPUs.
THREADS = 8


def one_of(names):
    """A wildcard constraint matching exactly these names (none: matching nothing)."""
    return "|".join(map(re.escape, names)) or "(?!)"


def library(script):
    """A rule's script and the library modules it imports, as inputs compared by checksum:
    editing one reruns the rule, a touch nothing (profiles/default drops the `code` trigger).
    """
    return list(_imported(script))


@functools.cache
def _imported(script):
    """The script and its modules, read once per run (input functions call it per job)."""
    paths = [SCRIPTS / script, *library_modules(SCRIPTS / script)]
    return tuple(os.path.relpath(path) for path in paths)


# Data.


def archive_path(wildcards):
    """The verified download (ancient: extract checks its sha256 itself, so a download job
    that keeps a valid archive reruns nothing after it), or the synthetic generator's.
    """
    if config["dataset"]["source"] == "download":
        return ancient(f"resources/downloads/{wildcards.archive}.tar.gz")
    return f"resources/synthetic/{wildcards.archive}.tar.gz"


def extracted(*archives):
    """The extracted folders a job reads files from, as ancient inputs. Deleted to save
    space, they rerun nothing; a job that reads them has them extracted again first."""
    return [ancient(f"resources/oxford_pets/{archive}") for archive in archives]


def archive_expected(wildcards):
    """What the archive extract reads must be: as downloaded; None for synthetic archives."""
    if config["dataset"]["source"] != "download":
        return None
    return download_expected(wildcards)


def download_expected(wildcards):
    """The sha256 and size the downloaded archive must have."""
    archive = config["dataset"]["archives"][wildcards.archive]
    return {"sha256": archive["sha256"], "size": archive.get("size")}


def array_files(wildcards):
    """The extracted files an array is decoded from: the images, or the trimaps for masks."""
    return extracted("annotations" if wildcards.kind == "masks" else "images")


# Training and evaluation: one rule each over {task}, {run} and {seed}; summaries.


def run_of(wildcards):
    """The run the job's wildcards name (config.runs.Run)."""
    if wildcards.run not in RUNS[wildcards.task]:
        known = ", ".join(RUNS[wildcards.task])
        raise WorkflowError(f"{wildcards.task}.models has no run {wildcards.run} ({known})")
    return RUNS[wildcards.task][wildcards.run]


def seed_settings(wildcards):
    """One training's settings: only this seed's (adding a seed reruns none of its jobs)."""
    try:
        return run_of(wildcards).seed_settings(int(wildcards.seed))
    except ValueError as exc:
        raise WorkflowError(f"results/{wildcards.task}/{wildcards.run}: {exc}") from None


def trainings(task, name):
    """The file `name` of every training of the task's runs: each run's seeds in turn."""
    runs = RUNS[task].values()
    return [f"results/{task}/{r.name}/seed_{seed}/{name}" for r in runs for seed in r.seeds]


def first_training(task, run, name="model.keras"):
    """A file of the run's first-seed training, which every later stage uses."""
    return f"results/{task}/{run}/seed_{RUNS[task][run].seeds[0]}/{name}"


def training_inputs(wildcards):
    """The task's training and validation arrays, and a segmenter's checked batch size."""
    found = TASKS[wildcards.task].files(("train", "val"), f"{DATA}/{wildcards.task}")
    if wildcards.task == SEGMENTATION:  # checked once its split is known
        found["batches"] = f"{SEG}/{run_of(wildcards).name}/batches.json"
    return found


def training_code(wildcards):
    """train.py, the modules it imports, and its task's builders, which it imports by name."""
    builders = SCRIPTS / "snakevision" / "models" / f"{wildcards.task}.py"
    return [*library("train.py"), os.path.relpath(builders)]


def evaluation_inputs(wildcards):
    """The held-out split a task is scored on: images and their truth (masks or labels)."""
    task = TASKS[wildcards.task]
    return task.arrays(task.evaluated_on, f"{DATA}/{task.name}")


def run_metrics(wildcards):
    """The metrics.json of each of the run's seeds."""
    run = f"results/{wildcards.task}/{wildcards.run}"
    return [f"{run}/seed_{seed}/metrics.json" for seed in run_of(wildcards).seeds]


def task_histories(wildcards):
    """Every training's history of the task, run by run, seed by seed."""
    return trainings(wildcards.task, "history.csv")


def task_summaries(wildcards):
    """Each of the task's runs' summary.json."""
    return [f"results/{wildcards.task}/{run}/summary.json" for run in RUNS[wildcards.task]]


# Interpretation: the model files each job reads.


def imagenet_file(name):
    """The weights or class index: fetched into resources/, or the path config gives."""
    value = INTERPRETATION["imagenet"][name]
    if value == "download":
        return f"{FETCHED}/{pictures.file_name(imagenet.FILES[name]['url'])}"
    return value


def model_files(wildcards):
    """The run's trained model (first seed), or the ImageNet Xception's weights."""
    if wildcards.model == IMAGENET:
        return {"weights": imagenet_file("weights")}
    return {"model": first_training(CLASSIFICATION, wildcards.model)}


def explanation_inputs(wildcards):
    """A model's files, its pictures and, where they are used, the test split's pictures."""
    found = {
        **model_files(wildcards),
        "pictures": EXPLANATIONS[wildcards.model]["paths"],
    }
    if wildcards.model == IMAGENET:
        found["class_index"] = imagenet_file("class_index")
    if INTERPRETATION["test_images"]:
        found["index"] = f"{DATA}/index.csv"
        found["split"] = f"{DATA}/classification/split.csv"
        found["files"] = extracted("images")
    return found


# Report: which rule writes which benchmark.


def benchmark_patterns(wildcards):
    """Rule -> the regex of its benchmark file, for every rule: a function, evaluated once
    every rule file is read, rules defined after this one included."""
    return {
        r.name: regex_from_filepattern(str(r.benchmark))
        for r in workflow.rules
        if r.benchmark is not None
    }
