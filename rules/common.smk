# Shared by every stage: the path roots and config shortcuts first, then the functions rules
# call. Included first: the stage files use these names, and no name here comes from them.

import functools
import math
import os
import re

from snakemake.exceptions import WorkflowError
from snakemake.io import regex_from_filepattern
from snakevision import batch_sizes
from snakevision.imports import library_modules
from snakevision.models import catalog
from snakevision.pictures import content_hash, file_name, is_url, local_path, name_of

# Path roots.
SCRIPTS = Path(workflow.basedir) / "scripts"
ENV = "../envs/snakevision.yaml"
DATA = "results/data"
TASK_DATA = "results/data/{task}"  # one task's split and arrays
MODEL = "results/{task}/{model}"  # a model's summary over seeds, its gallery
RUN = "results/{task}/{model}/seed_{seed}"  # one training's model, history, metrics, curves
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
TASKS = list(catalog.TASKS)
# The models each task trains.
TRAINED = {task: config[task]["models"] for task in TASKS}
# Each trained model's seeds: one training each; later stages use the first seed's model.
SEEDS = {m: config[t]["train"][m]["seeds"] for t in TASKS for m in TRAINED[t]}
SEGMENTERS = TRAINED[catalog.SEGMENTATION]
CLASSIFIERS = TRAINED[catalog.CLASSIFICATION]
SUMMARISED = catalog.summarised()
INTERPRETATION = config["interpretation"]
IMAGENET = catalog.IMAGENET
USE_IMAGENET = INTERPRETATION["imagenet"]["weights"] != "none"
EXPLAINED = [*CLASSIFIERS, *([IMAGENET] if USE_IMAGENET else [])]
# Where Keras 3.15 fetches the ImageNet Xception's files, and their MD5 (get_file's file_hash).
IMAGENET_FILES = {
    "weights": {
        "url": "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
        "xception_weights_tf_dim_ordering_tf_kernels.h5",
        "md5": "0a58e3b7378bc2990ea3b43d5981f1f6",
    },
    "class_index": {
        "url": "https://storage.googleapis.com/download.tensorflow.org/data/"
        "imagenet_class_index.json",
        "md5": "c2c37ea517e94d9795004a39431a14cb",
    },
}
# File name -> URL and MD5 of the ImageNet Xception's files.
IMAGENET_DOWNLOADS = {file_name(f["url"]): f for f in IMAGENET_FILES.values()}
PICTURE_LISTS = {
    "interpretation.images": INTERPRETATION["images"],
    # Left out with the ImageNet Xception, as the config check leaves them.
    "interpretation.imagenet.images": (
        INTERPRETATION["imagenet"]["images"] if USE_IMAGENET else []
    ),
    "predict.images": config["predict"]["images"],
}
# File name -> (URL, config key) of every picture to fetch; the config check refuses two URLs
# with one file name.
URLS = {
    file_name(entry): (entry, key)
    for key, entries in PICTURE_LISTS.items()
    for entry in entries
    if is_url(entry)
}
# Output name (the file's stem) -> config entry; the config check refuses names that clash.
PHOTOS = {name_of(entry): entry for entry in config["predict"]["images"]}

# Threads of the parallel rules (decoding, training): Snakemake scales them down to --cores on
# one machine; on a cluster each such job asks for this many CPUs.
THREADS = 8
# The report's section of each task's files.
CATEGORIES = {"segmentation": "2. Segmentation", "classification": "3. Classification"}


def one_of(names):
    """A wildcard constraint matching exactly these names (none: matching nothing)."""
    return "|".join(map(re.escape, names)) or "(?!)"


def library(script):
    """A rule's script and the library modules it imports, as inputs: editing one reruns the rule.

    As inputs they are compared by checksum, so a touch (a checkout, a copy without times) reruns
    nothing; the workflow profile turns off the `code` trigger, which sees only the script's
    modification time. Relative paths: absolute ones would change when the project moves.
    """
    return list(_imported(script))


@functools.cache
def _imported(script):
    """The script and its modules, read once per run (input functions call it per job)."""
    paths = [SCRIPTS / script, *library_modules(SCRIPTS / script)]
    return tuple(os.path.relpath(path) for path in paths)


# Data.


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


def split_settings(wildcards):
    """One task's split section."""
    return config["split"][wildcards.task]


# Training and evaluation: one rule each over {task}, {model} and {seed}; summaries.

# The arrays of each split a task uses, and the split each task is evaluated on.
SPLIT_ARRAYS = {
    "segmentation": {"train": ["images", "masks"], "val": ["images", "masks"]},
    "classification": {
        "train": ["images", "labels"],
        "val": ["images", "labels"],
        "test": ["images", "labels"],
    },
}
EVALUATED_ON = {"segmentation": "val", "classification": "test"}


def task_arrays(task):
    """Every array file a task's data rule writes."""
    return [
        f"{DATA}/{task}/{split}_{kind}.npy"
        for split, kinds in SPLIT_ARRAYS[task].items()
        for kind in kinds
    ]


def section(wildcards):
    """The model's training section, after checking that the run trains it for this task."""
    if wildcards.model not in TRAINED[wildcards.task]:
        raise WorkflowError(
            f"results/{wildcards.task}/{wildcards.model}: {wildcards.model} is not among the "
            f"{wildcards.task}.models of this run ({', '.join(TRAINED[wildcards.task])})"
        )
    return config[wildcards.task]["train"][wildcards.model]


def seed_section(wildcards):
    """One training's settings: the model's section with this seed in place of its list.

    Only this seed's own values: adding or removing another seed reruns none of its jobs.
    """
    train = section(wildcards)
    if int(wildcards.seed) not in train["seeds"]:
        raise WorkflowError(
            f"results/{wildcards.task}/{wildcards.model}/seed_{wildcards.seed}: seed "
            f"{wildcards.seed} is not among {wildcards.task}.train.{wildcards.model}.seeds "
            f"{train['seeds']}"
        )
    return {
        **{k: v for k, v in train.items() if k != "seeds"},
        "seed": int(wildcards.seed),
    }


def training_length(wildcards):
    """How long the training was asked to go on: metrics.json records where it stopped."""
    train = section(wildcards)
    return {"epochs": train["epochs"], "patience": train.get("patience")}


def tensorboard_dir(wildcards):
    """Where a training writes its TensorBoard events (`tensorboard --logdir logs/tensorboard`)."""
    return f"logs/tensorboard/{wildcards.task}/{wildcards.model}/seed_{wildcards.seed}"


def runs(task, name):
    """The file `name` of every training of the task's models: each model's seeds in turn."""
    return [
        f"results/{task}/{model}/seed_{seed}/{name}"
        for model in TRAINED[task]
        for seed in SEEDS[model]
    ]


def first_run(task, model, name="model.keras"):
    """A file of the model's first-seed training, which every later stage uses."""
    return f"results/{task}/{model}/seed_{SEEDS[model][0]}/{name}"


def training_inputs(wildcards):
    """The task's training and validation arrays: images, and their truth (masks or labels)."""
    section(wildcards)
    images, truth = SPLIT_ARRAYS[wildcards.task]["train"]
    found = {
        f"{split}_{role}": f"{DATA}/{wildcards.task}/{split}_{kind}.npy"
        for split in ("train", "val")
        for role, kind in (("images", images), ("truth", truth))
    }
    if wildcards.task == catalog.SEGMENTATION:  # checked once its split is known
        found["batches"] = f"{SEG}/{wildcards.model}/batches.json"
    return found


def training_code(wildcards):
    """train.py, the modules it imports, and its task's builders, which it imports by name."""
    builders = SCRIPTS / "snakevision" / "models" / f"{wildcards.task}.py"
    return [*library("train.py"), os.path.relpath(builders)]


def evaluation_inputs(wildcards):
    """The held-out split a task is scored on: images and their truth (masks or labels)."""
    split = EVALUATED_ON[wildcards.task]
    images, truth = SPLIT_ARRAYS[wildcards.task][split]
    return {
        "images": f"{DATA}/{wildcards.task}/{split}_{images}.npy",
        "truth": f"{DATA}/{wildcards.task}/{split}_{truth}.npy",
    }


def image_size(wildcards):
    """The task's image size."""
    return config[wildcards.task]["image_size"]


def evaluate_batch_size(wildcards):
    """The task's evaluation batch size."""
    return config[wildcards.task]["evaluate"]["batch_size"]


def category(wildcards):
    """The report section of a task's files."""
    return CATEGORIES[wildcards.task]


def model_runs(wildcards):
    """The metrics.json of each of the model's seeds."""
    section(wildcards)
    return [
        f"results/{wildcards.task}/{wildcards.model}/seed_{seed}/metrics.json"
        for seed in SEEDS[wildcards.model]
    ]


def model_seeds(wildcards):
    """The model's seeds, in the order of its inputs."""
    return SEEDS[wildcards.model]


def task_summaries(wildcards):
    """Each of the task's models' summary.json."""
    return [
        f"results/{wildcards.task}/{model}/summary.json"
        for model in TRAINED[wildcards.task]
    ]


def task_histories(wildcards):
    """Every training's history of the task, model by model, seed by seed."""
    return runs(wildcards.task, "history.csv")


def task_seeds(wildcards):
    """Model -> its seeds, for the task's models in order (which inputs belong to which)."""
    return {model: SEEDS[model] for model in TRAINED[wildcards.task]}


def task_book_figures(wildcards):
    """Model -> the metric the book publishes for it and its value, or None."""
    return {model: catalog.book_figure(model) for model in TRAINED[wildcards.task]}


def training_mem_mb(wildcards):
    """Host memory to request for training: the runtime plus one pass's activations, with margin.

    A GPU job's host memory holds no activations, so the parts of a batch on a CPU (where
    `micro_batches: auto` splits) bound what a job needs.
    """
    model, train = catalog.MODELS[wildcards.model], section(wildcards)
    batch = train["batch_size"]
    parts = batch_sizes.micro_batches(
        train["micro_batches"],
        batch,
        model.batch_norm,
        train["precision"],
        accelerator=False,
    )
    images = math.ceil(batch / parts)
    scale = (config[wildcards.task]["image_size"] / model.mb_size) ** 2
    return int(1500 + 1.25 * model.mb_per_image * images * scale)


def batch_size_key(wildcards):
    """The config key check_batch_size names."""
    return f"segmentation.train.{wildcards.model}"


def segmentation_batch_size(wildcards):
    """The batch size check_batch_size checks."""
    return config["segmentation"]["train"][wildcards.model]["batch_size"]


# Interpretation: the pictures and model files each job reads.


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
    return {"model": first_run(catalog.CLASSIFICATION, wildcards.model)}


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
        found["index"] = f"{DATA}/index.csv"
        found["split"] = f"{DATA}/classification/split.csv"
        found["files"] = extracted("images")
    return found


def explained_pictures(wildcards):
    """Which pictures a model explains: the test split's count and the config entries."""
    return {
        "test_images": INTERPRETATION["test_images"],
        "entries": picture_entries(wildcards.model),
    }


def gradcam_settings(wildcards):
    """The Grad-CAM layer chosen for the model (None: automatic) and the classes listed."""
    return {
        "layer": INTERPRETATION["gradcam"]["layers"].get(wildcards.model),
        "top": INTERPRETATION["gradcam"]["top"],
    }


def is_imagenet(wildcards):
    """Whether the model is the ImageNet Xception."""
    return wildcards.model == IMAGENET


def imagenet_url(wildcards):
    """Where an ImageNet Xception file is fetched from."""
    return IMAGENET_DOWNLOADS[wildcards.file]["url"]


def pictures_content(wildcards):
    """Each local picture's sha256, by entry: new content at the same path reruns the job."""
    return {
        entry: content_hash(entry)
        for entries in picture_entries(wildcards.model).values()
        for entry in entries
        if not is_url(entry)
    }


def imagenet_md5(wildcards):
    """The MD5 an ImageNet Xception file must have."""
    return IMAGENET_DOWNLOADS[wildcards.file]["md5"]


def filter_settings(wildcards):
    """Every ascent setting but the list of layers: adding a layer draws only that one."""
    return {k: v for k, v in INTERPRETATION["filters"].items() if k != "layers"}


# Pictures: fetched by URL, and the user's photos.


def picture_url(wildcards):
    """The URL a picture is fetched from."""
    return URLS[wildcards.file][0]


def picture_key(wildcards):
    """The config key that lists the picture (for messages)."""
    return URLS[wildcards.file][1]


def photo_path(wildcards):
    """The photo's file: the local path config gives, or where its URL is fetched to."""
    return local_path(PHOTOS[wildcards.image], PICTURES)


def photo_entry(wildcards):
    """The photo's config entry (for messages)."""
    return PHOTOS[wildcards.image]


def photo_content(wildcards):
    """The photo's sha256: new content at the same path reruns its prediction."""
    return content_hash(PHOTOS[wildcards.image])


# Report: the settings its front page quotes, and which rule writes which benchmark.


def front_page_settings():
    """The run's settings that matter for comparing with the book, one dict per model."""
    keys = ("epochs", "batch_size", "precision", "seeds")
    return {
        "profile": config["profile"],
        "source": config["dataset"]["source"],
        "backend": BACKEND,
        "train": {
            model: {key: config[task]["train"][model][key] for key in keys}
            for task in TASKS
            for model in TRAINED[task]
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
