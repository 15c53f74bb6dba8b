"""Config checks that run before any job: the JSON schema, then limits that span several keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from snakevision.config.given_files import class_index_problem, hdf5_problem
from snakevision.config.runs import all_runs, listing_problems
from snakevision.config.runs import problems as run_problems
from snakevision.config.schema import schema_errors
from snakevision.config.sources import FULL, PROFILE_SETTINGS, known_profiles
from snakevision.data.downloads import url_problem
from snakevision.data.pets import breed_of, species_of
from snakevision.data.pictures import file_name, is_url, name_of
from snakevision.data.pictures import problems as picture_problems
from snakevision.data.synthetic import CAT_BREEDS, DOG_BREEDS, QUIRKS
from snakevision.models import catalog
from snakevision.models.tasks import CLASSIFICATION, SEGMENTATION
from snakevision.training.batch_sizes import batch_problem

# Images per species in the official archives (7,390 in all; an upper bound of the usable ones).
OFFICIAL_IMAGES = {"cat": 2400, "dog": 4990}


class ConfigError(ValueError):
    """An invalid configuration; the message lists every problem found, `problems` each one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def limit_errors(config: dict[str, Any]) -> list[str]:
    """Values the schema allows one by one but the data cannot meet."""
    problems = []
    dataset, split = config["dataset"], config["split"]
    synthetic = dataset["synthetic"]
    if synthetic["min_side"] > synthetic["max_side"]:
        problems.append(
            f"dataset.synthetic.min_side ({synthetic['min_side']}) is larger than "
            f"dataset.synthetic.max_side ({synthetic['max_side']}); allowed: min_side <= max_side"
        )
    if dataset["source"] == "download":
        for name, archive in dataset["archives"].items():
            if problem := url_problem(archive["url"]):
                problems.append(
                    f"dataset.archives.{name}.url ({archive['url']!r}): {problem}; allowed: "
                    "an http://, https:// or file:// URL"
                )
    if dataset["source"] == "synthetic":
        n = synthetic["images_per_breed"]
        per_species = {"cat": n * len(CAT_BREEDS), "dog": n * len(DOG_BREEDS)}
        for stem, quirk in QUIRKS.items():  # the corrupt JPEG is never usable
            if quirk == "corrupt_jpeg":
                per_species[species_of(breed_of(stem))] -= 1
        origin = "dataset.synthetic.images_per_breed"
    else:
        # An upper bound: the split itself, after indexing, knows how many are usable.
        per_species, origin = OFFICIAL_IMAGES, "the official archives, of which a few are unusable"
    total = sum(per_species.values())
    num_val = split["segmentation"]["num_val"]
    if num_val >= total:
        problems.append(
            f"split.segmentation.num_val ({num_val}) must be smaller than the number of images "
            f"({total} from {origin}); allowed: 1..{total - 1}"
        )
    # Each training section with the images it trains on: segmentation on what num_val leaves
    # (known once indexed: rule check_batch_size checks again), the classifiers on exactly
    # split.classification.train per species.
    per_class = split["classification"]["train"]
    num_train = split["segmentation"].get("num_train")
    if num_train is not None and num_train > total - num_val:
        problems.append(
            f"split.segmentation.num_train ({num_train}) exceeds the images split.segmentation."
            f"num_val ({num_val}) leaves ({total - num_val} from {origin}); allowed: null or "
            f"1..{total - num_val}"
        )
    seg_images = (
        (
            total - num_val,
            f"at most: {total} from {origin}, less split.segmentation.num_val {num_val}",
        )
        if num_train is None
        else (num_train, f"split.segmentation.num_train {num_train}")
    )
    cls_images = (
        2 * per_class,
        f"split.classification.train: {per_class} per species, cats and dogs",
    )
    images_of = {SEGMENTATION: seg_images, CLASSIFICATION: cls_images}
    for run in (run for found in all_runs(config).values() for run in found.values()):
        # A sweep's run is named beside its section's key.
        key = run.key if run.key.endswith(f".{run.name}") else f"{run.key} ({run.name})"
        train, (images, where) = run.settings, images_of[run.task]
        parts = train["micro_batches"]
        if catalog.MODELS[run.architecture].batch_norm and parts not in (1, "auto"):
            problems.append(
                f"{key}.micro_batches ({parts}): {run.architecture}'s batch normalization needs "
                "whole batches; allowed: 1 or auto"
            )
        elif train["precision"] == "mixed_float16" and parts not in (1, "auto"):
            problems.append(
                f"{key}.micro_batches ({parts}) with {key}.precision mixed_float16: its loss "
                "scaling skips steps, which would shift the accumulated parts off the batches; "
                "allowed: 1 or auto, or precision mixed_bfloat16"
            )
        elif parts != "auto" and parts > train["batch_size"]:
            problems.append(
                f"{key}.micro_batches ({parts}) exceeds {key}.batch_size ({train['batch_size']}); "
                "allowed: auto or 1..batch_size"
            )
        if images > 0 and (problem := batch_problem(key, train["batch_size"], images, where)):
            problems.append(problem)
    wanted = sum(split["classification"][k] for k in ("train", "val", "test"))
    available = min(per_species.values())
    if wanted > available:
        problems.append(
            f"split.classification train+val+test ({wanted} per species) exceeds the at most "
            f"{available} images of the smaller species from {origin}; lower the counts"
        )
    problems += size_errors(config)
    return problems + interpretation_errors(config) + picture_errors(config)


def size_errors(config: dict[str, Any]) -> list[str]:
    """Image sizes a model cannot take, as Keras would refuse them (models.catalog)."""
    refused: dict[tuple, list[str]] = {}  # (key, size, rules, reason) -> models
    trained = {run.architecture for found in all_runs(config).values() for run in found.values()}
    for name, model in catalog.MODELS.items():
        # Built at the task's size: the runs' architectures by rule train, and the summarised
        # ones by rule model_summaries whether trained or not.
        rules = [
            *(["train"] if name in trained else []),
            *(["model_summaries"] if name in catalog.summarised() else []),
        ]
        if not model.trains or not rules:
            continue
        key, size = f"{model.task}.image_size", config[model.task]["image_size"]
        if reason := catalog.size_problem(name, size):
            named = f"{'rules' if len(rules) > 1 else 'rule'} {' and '.join(rules)}"
            refused.setdefault((key, size, named, reason), []).append(name)
    return [
        f"{key} ({size}): model {' and '.join(models)} ({rules}) {reason}"
        for (key, size, rules, reason), models in refused.items()
    ]


def interpretation_errors(config: dict[str, Any]) -> list[str]:
    """Pictures that cannot be read or named, files that are not there, too many test images."""
    settings = config["interpretation"]
    imagenet = settings["imagenet"]
    problems = picture_problems(settings["images"], "interpretation.images")
    low, high = settings["filters"]["start"]
    if low >= high:
        problems.append(
            f"interpretation.filters.start ({[low, high]}): the noise's low end must be below "
            "its high end; the book's is [0.4, 0.6]"
        )
    test = config["split"]["classification"]["test"]
    if settings["test_images"] > test:
        problems.append(
            f"interpretation.test_images ({settings['test_images']}) exceeds "
            f"split.classification.test ({test}), the test pictures per species; lower it"
        )
    runs = {CLASSIFICATION: all_runs(config)[CLASSIFICATION]}
    imagenet_named = () if imagenet["weights"] == "none" else (catalog.IMAGENET,)
    problems += listing_problems(
        runs, settings.get("models"), "interpretation.models", imagenet_named
    )
    # Layers are chosen per run, or per architecture for every run of it.
    named = [*runs[CLASSIFICATION], *catalog.trained(CLASSIFICATION), catalog.IMAGENET]
    for part in ("filters", "gradcam"):
        for name in settings[part]["layers"]:
            if name not in named:
                problems.append(
                    f"interpretation.{part}.layers.{name}: no classification run or "
                    f"architecture of that name; allowed: {', '.join(named)}"
                )
    if imagenet["weights"] == "none":
        return problems
    problems += picture_problems(imagenet["images"], "interpretation.imagenet.images")
    ours = {name_of(entry) for entry in settings["images"]}
    if shared := sorted(ours & {name_of(entry) for entry in imagenet["images"]}):
        problems.append(
            f"interpretation.images and interpretation.imagenet.images both name pictures "
            f"{shared}: the ImageNet Xception explains both lists; rename one of each"
        )
    return problems + imagenet_file_errors(imagenet)


# The ImageNet Xception's files config may name: the check of each file's content, what it
# must be, and the values the key allows.
IMAGENET_FILES = {
    "weights": (
        hdf5_problem,
        "give Keras' xception_weights_tf_dim_ordering_tf_kernels.h5 (the ImageNet weights with "
        "the classifier top), or set the key to download (or none: no ImageNet Xception)",
        "download, none or a path",
    ),
    "class_index": (
        class_index_problem,
        "give Keras' imagenet_class_index.json, or set the key to download",
        "download or a path",
    ),
}


def imagenet_file_errors(imagenet: dict[str, Any]) -> list[str]:
    """The weights and class index paths config gives: present, and of the right kind.

    Only their first bytes (weights) or a small file (class index) are read: a wrong file stops
    the run here, not in the job, which would delete the previous run's outputs as it failed.
    """
    problems = []
    for name, (content_problem, fix, allowed) in IMAGENET_FILES.items():
        value = imagenet[name]
        if value == "download":
            continue
        key = f"interpretation.imagenet.{name}"
        if not Path(value).is_file():
            problems.append(
                f"{key}: no such file {value!r} (a path is relative to the working directory); "
                f"allowed: {allowed}"
            )
        elif problem := content_problem(Path(value)):
            problems.append(f"{key}: {value!r} {problem}; {fix}")
    return problems


def picture_errors(config: dict[str, Any]) -> list[str]:
    """The photos to predict, and photo URLs fetched into the file of another picture's URL."""
    photos = config["predict"]["images"]
    problems = picture_problems(photos, "predict.images")
    problems += listing_problems(
        all_runs(config), config["predict"].get("models"), "predict.models"
    )
    interpretation = config["interpretation"]
    explained = {"interpretation.images": interpretation["images"]}
    if interpretation["imagenet"]["weights"] != "none":
        explained["interpretation.imagenet.images"] = interpretation["imagenet"]["images"]
    for i, photo in enumerate(photos):
        for key, entries in explained.items():
            for j, other in enumerate(entries):
                fetched = is_url(photo) and is_url(other) and photo != other
                if fetched and file_name(photo) == file_name(other):
                    problems.append(
                        f"predict.images[{i}] ({photo!r}) and {key}[{j}] ({other!r}) would "
                        f"both be fetched into resources/pictures/{file_name(photo)}; "
                        "rename one of the files behind them or use a local copy"
                    )
    return problems


def profile_errors(config: dict[str, Any], root: Path) -> list[str]:
    """A profile name with no settings file under root (the workflow's folder)."""
    name, known = config["profile"], known_profiles(root)
    if name in known:
        return []
    return [
        f"profile ({name!r}): no settings file {PROFILE_SETTINGS.format(name=name)}; allowed: "
        f"{', '.join(known)} ({FULL}: config.yaml alone)"
    ]


def check(config: dict[str, Any], schema_path: Path, root: Path | None = None) -> None:
    """Raise ConfigError listing every problem of config, or return quietly.

    root: the workflow's folder, which holds the profiles (default: the schema's folder).
    """
    problems = schema_errors(config, schema_path)
    if not problems:
        problems = profile_errors(config, Path(root or Path(schema_path).parent))
        problems += run_problems(config)
    if not problems:
        problems = limit_errors(config)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"invalid configuration ({len(problems)} problem(s)):\n{lines}", problems)
