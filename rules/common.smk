# Helpers shared by every stage.

import math
import os

from snakemake.io import regex_from_filepattern
from snakevision import batch_sizes
from snakevision.imports import library_modules
from snakevision.pictures import file_name, local_path

SCRIPTS = Path(workflow.basedir) / "scripts"
ENV = "../envs/snakevision.yaml"
ARCHIVES = ["images", "annotations"]
TASKS = ["segmentation", "classification"]
# Threads of the parallel rules (decoding, training): Snakemake scales them down to --cores on
# one machine; on a cluster each such job asks for this many CPUs.
THREADS = 8
# Where rule fetch_picture puts the pictures config names by URL (interpretation, predict).
PICTURES = "resources/pictures"


wildcard_constraints:
    archive="|".join(ARCHIVES),
    task="|".join(TASKS),
    model="|".join(config["classification"]["models"]),


def library(script):
    """A rule's script and the library modules it imports, as inputs: editing one reruns the rule.

    As inputs they are compared by checksum, so a touch (a checkout, a copy without times) reruns
    nothing; the workflow profile turns off the `code` trigger, which sees only the script's
    modification time. Relative paths: absolute ones would change when the project moves.
    """
    paths = [SCRIPTS / script, *library_modules(SCRIPTS / script)]
    return [os.path.relpath(path) for path in paths]


# Training memory per image of a batch, in MB, at the task's default size: peak RSS on a CPU,
# where activations live in host memory, less the runtime (bench/README.md). A GPU job needs
# less host memory; asking for this much keeps a CPU job clear of the cluster's OOM killer.
MB_PER_IMAGE = {
    "book": (48, 200),
    "unet": (88, 200),  # one pass: its batch normalization takes no micro-batches
    "convnet": (11, 180),
    "mini_xception": (72, 180),
}


def training_mem_mb(model, image_size, train):
    """Host memory to request for training: the runtime plus one pass's activations, with margin.

    A GPU job's host memory holds no activations, so the parts of a batch on a CPU (where
    `micro_batches: auto` splits) bound what a job needs.
    """
    per_image, size = MB_PER_IMAGE[model]
    batch = train["batch_size"]
    parts = batch_sizes.micro_batches(
        train["micro_batches"], batch, model, train["precision"], accelerator=False
    )
    images = math.ceil(batch / parts)
    return int(1500 + 1.25 * per_image * images * (image_size / size) ** 2)


def archive_path(wildcards):
    """Where the archive comes from: the verified download or the synthetic generator.

    A download counts as ancient: extract checks it against the sha256 in its params, so the
    download rule rerunning (on edited code) and keeping a valid archive reruns nothing after.
    """
    if config["dataset"]["source"] == "download":
        return ancient(f"resources/downloads/{wildcards.archive}.tar.gz")
    return f"resources/synthetic/{wildcards.archive}.tar.gz"


def extracted(*archives):
    """The extracted folders a rule reads files from (paths in index.csv), as inputs.

    Marked ancient, as a folder's age says nothing its archive does not: deleted after a run to
    save space, it reruns nothing; when a job that reads it must run, Snakemake extracts it
    again first (and then reruns the index and what follows, as for any intermediate file).
    """
    return [ancient(f"resources/oxford_pets/{archive}") for archive in archives]


def download_expected(wildcards):
    """The sha256 and size the downloaded archive must have."""
    archive = config["dataset"]["archives"][wildcards.archive]
    return {"sha256": archive["sha256"], "size": archive.get("size")}


def archive_expected(wildcards):
    """What the archive extract reads must be: as downloaded; None for synthetic archives."""
    if config["dataset"]["source"] != "download":
        return None
    return download_expected(wildcards)


# Interpretation: the pictures and model files each job reads (rules/interpretation.smk).


def picture_entries(model):
    """Config key -> the pictures listed there that the model explains (besides the test split)."""
    entries = {"interpretation.images": INTERPRETATION["images"]}
    if model == IMAGENET:
        entries["interpretation.imagenet.images"] = INTERPRETATION["imagenet"]["images"]
    return entries


def has_pictures(model):
    """Whether the model has any picture to explain."""
    return INTERPRETATION["test_images"] > 0 or any(picture_entries(model).values())


def imagenet_file(name):
    """The weights or class index: fetched into resources/, or the path config gives."""
    value = INTERPRETATION["imagenet"][name]
    if value == "download":
        return f"{FETCHED}/{file_name(IMAGENET_FILES[name]['url'])}"
    return value


def model_files(wildcards):
    """The trained model, or the ImageNet Xception's weights."""
    if wildcards.model == IMAGENET:
        return {"weights": imagenet_file("weights")}
    return {"model": f"{CLS}/{wildcards.model}/model.keras"}


def explanation_inputs(wildcards):
    """A model's files, its pictures and, where they are used, the test split's pictures."""
    found = model_files(wildcards)
    if wildcards.model == IMAGENET:
        found["class_index"] = imagenet_file("class_index")
    found["pictures"] = [
        local_path(entry, PICTURES)
        for entries in picture_entries(wildcards.model).values()
        for entry in entries
    ]
    if INTERPRETATION["test_images"]:
        found["index"] = "results/data/index.csv"
        found["split"] = f"{CLS_DATA}/split.csv"
        found["files"] = extracted("images")
    return found


# Report: the settings its front page quotes, and which rule writes which benchmark.


def front_page_settings():
    """The run's settings that matter for comparing with the book, one dict per model."""
    keys = ("epochs", "batch_size", "precision")
    train = {**config["segmentation"]["train"], **config["classification"]["train"]}
    return {
        "source": config["dataset"]["source"],
        "backend": config["keras_backend"],
        "train": {
            model: {key: train[model][key] for key in keys}
            for model in [*SEGMENTERS, *MODELS]
        },
    }


def benchmark_patterns(wildcards):
    """Rule -> the regex of its benchmark file (wildcard constraints included), for every rule.

    A function: evaluated once every rule file is read, rules defined after this one included.
    """
    return {
        r.name: regex_from_filepattern(str(r.benchmark))
        for r in workflow.rules
        if r.benchmark is not None
    }
