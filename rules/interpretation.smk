# Interpretation stage: what the convnets learned (the book's 9.4): intermediate activations,
# filter patterns and Grad-CAM, for our trained classifiers and the ImageNet Xception.

import re

from snakevision.interpretation.imagenet import (
    FILES as IMAGENET_FILES,
    NAME as IMAGENET,
)
from snakevision.pictures import file_name, is_url, local_path

INTERP = "results/interpretation"
INTERPRETATION = config["interpretation"]
FETCHED = "resources/interpretation"
PICTURES = f"{FETCHED}/pictures"
USE_IMAGENET = INTERPRETATION["imagenet"]["weights"] != "none"
EXPLAINED = [*MODELS, *([IMAGENET] if USE_IMAGENET else [])]


def picture_entries(model):
    """Config key -> the pictures listed there that the model explains (besides the test split)."""
    entries = {"interpretation.images": INTERPRETATION["images"]}
    if model == IMAGENET:
        entries["interpretation.imagenet.images"] = INTERPRETATION["imagenet"]["images"]
    return entries


# File name -> (URL, config key) of every picture to fetch.
URLS = {
    file_name(entry): (entry, key)
    for key, entries in picture_entries(IMAGENET).items()
    for entry in entries
    if is_url(entry)
}


# File name -> URL and MD5 of the ImageNet Xception's weights and class index.
IMAGENET_DOWNLOADS = {file_name(f["url"]): f for f in IMAGENET_FILES.values()}


def has_pictures(model):
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


INTERPRETATION_OUTPUTS = [
    *(f"{INTERP}/activations/{m}" for m in MODELS if has_pictures(m)),
    *(f"{INTERP}/gradcam/{m}" for m in EXPLAINED if has_pictures(m)),
    *(
        f"{INTERP}/filters/{m}/{layer}.png"
        for m in EXPLAINED
        for layer in INTERPRETATION["filters"]["layers"].get(m, [])
    ),
]


rule fetch_picture:
    output:
        f"{PICTURES}/{{file}}",
    log:
        "logs/interpretation/fetch_{file}.log",
    benchmark:
        "benchmarks/interpretation/fetch_{file}.tsv"
    wildcard_constraints:
        file="|".join(map(re.escape, URLS)) or "(?!)",
    localrule: True  # compute nodes of a cluster often have no internet
    conda:
        ENV
    threads: 1
    params:
        url=lambda w: URLS[w.file][0],
        key=lambda w: URLS[w.file][1],
    script:
        "../scripts/fetch_picture.py"


rule fetch_imagenet:
    output:
        f"{FETCHED}/{{file}}",
    log:
        "logs/interpretation/fetch_{file}.log",
    benchmark:
        "benchmarks/interpretation/fetch_{file}.tsv"
    localrule: True
    wildcard_constraints:
        file="|".join(map(re.escape, IMAGENET_DOWNLOADS)),
    conda:
        ENV
    threads: 1
    params:
        # Keyed by content, as the archives are: a file already fetched is never fetched again.
        url=lambda w: IMAGENET_DOWNLOADS[w.file]["url"],
        md5=lambda w: IMAGENET_DOWNLOADS[w.file]["md5"],
    script:
        "../scripts/fetch_imagenet.py"


rule activations:
    input:
        unpack(explanation_inputs),
        code=library("interpret_activations.py"),
    output:
        report(
            directory(f"{INTERP}/activations/{{model}}"),
            patterns=["{image}/{figure}.png"],
            caption="../report/activations.rst",
            category="4. Interpretation",
            subcategory="Activations",
            labels={"model": "{model}", "picture": "{image}", "layer": "{figure}"},
        ),
    log:
        "logs/interpretation/activations_{model}.log",
    benchmark:
        "benchmarks/interpretation/activations_{model}.tsv"
    wildcard_constraints:
        model="|".join(MODELS),
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        test_images=INTERPRETATION["test_images"],
        pictures=lambda w: picture_entries(w.model),
        backend=config["keras_backend"],
    script:
        "../scripts/interpret_activations.py"


rule gradcam:
    input:
        unpack(explanation_inputs),
        code=library("interpret_gradcam.py"),
    output:
        report(
            directory(f"{INTERP}/gradcam/{{model}}"),
            patterns=[
                "{image}/overlay.jpg",
                "{image}/heatmap.png",
                "{image}/predictions.json",
            ],
            caption="../report/gradcam.rst",
            category="4. Interpretation",
            subcategory="Grad-CAM",
            labels={"model": "{model}", "picture": "{image}"},
        ),
    log:
        "logs/interpretation/gradcam_{model}.log",
    benchmark:
        "benchmarks/interpretation/gradcam_{model}.tsv"
    wildcard_constraints:
        model="|".join(EXPLAINED),
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        test_images=INTERPRETATION["test_images"],
        pictures=lambda w: picture_entries(w.model),
        imagenet=lambda w: w.model == IMAGENET,
        gradcam=lambda w: {
            "layer": INTERPRETATION["gradcam"]["layers"].get(w.model),
            "top": INTERPRETATION["gradcam"]["top"],
        },
        backend=config["keras_backend"],
    script:
        "../scripts/interpret_gradcam.py"


rule filters:
    input:
        unpack(model_files),
        code=library("interpret_filters.py"),
    output:
        report(
            f"{INTERP}/filters/{{model}}/{{layer}}.png",
            caption="../report/filters.rst",
            category="4. Interpretation",
            subcategory="Filter patterns",
            labels={"model": "{model}", "layer": "{layer}"},
        ),
    log:
        "logs/interpretation/filters_{model}_{layer}.log",
    benchmark:
        "benchmarks/interpretation/filters_{model}_{layer}.tsv"
    wildcard_constraints:
        model="|".join(EXPLAINED),
        layer=r"[A-Za-z0-9_.-]+",
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=120,
    params:
        # Every ascent setting but the list of layers: adding a layer draws only that one.
        filters={k: v for k, v in INTERPRETATION["filters"].items() if k != "layers"},
        imagenet=lambda w: w.model == IMAGENET,
        backend=config["keras_backend"],
    script:
        "../scripts/interpret_filters.py"
