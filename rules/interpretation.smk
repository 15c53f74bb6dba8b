# Interpretation stage: what the convnets learned (the book's 9.4): intermediate activations,
# filter patterns and Grad-CAM, for our trained classifiers and the ImageNet Xception.
# Its input functions are in common.smk.

import re

from snakevision.pictures import file_name

INTERP = "results/interpretation"
INTERPRETATION = config["interpretation"]
FETCHED = "resources/interpretation"
IMAGENET = "xception_imagenet"  # the ImageNet Xception's name in output paths
USE_IMAGENET = INTERPRETATION["imagenet"]["weights"] != "none"
EXPLAINED = [*MODELS, *([IMAGENET] if USE_IMAGENET else [])]
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
# File name -> URL and MD5 of those files.
IMAGENET_DOWNLOADS = {file_name(f["url"]): f for f in IMAGENET_FILES.values()}
INTERPRETATION_OUTPUTS = [
    *(f"{INTERP}/activations/{m}" for m in MODELS if has_pictures(m)),
    *(f"{INTERP}/gradcam/{m}" for m in EXPLAINED if has_pictures(m)),
    *(
        f"{INTERP}/filters/{m}/{layer}.png"
        for m in EXPLAINED
        for layer in INTERPRETATION["filters"]["layers"].get(m, [])
    ),
]


rule fetch_imagenet:
    output:
        f"{FETCHED}/{{file}}",
    log:
        "logs/interpretation/fetch_{file}.log",
    benchmark:
        "benchmarks/interpretation/fetch_{file}.tsv"
    wildcard_constraints:
        file="|".join(map(re.escape, IMAGENET_DOWNLOADS)),
    localrule: True
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
        pictures=lambda w: {
            "test_images": INTERPRETATION["test_images"],
            "entries": picture_entries(w.model),
        },
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
        pictures=lambda w: {
            "test_images": INTERPRETATION["test_images"],
            "entries": picture_entries(w.model),
        },
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
        # Xception to block3_sepconv1 at 200 px peaked at 1.0, 1.4 and 4.3 GB for batches of
        # 1, 8 and 64 on a CPU (bench/README.md); our models take less.
        mem_mb=1500 + 60 * INTERPRETATION["filters"]["batch_size"],
        runtime=120,
    params:
        # Every ascent setting but the list of layers: adding a layer draws only that one.
        filters={k: v for k, v in INTERPRETATION["filters"].items() if k != "layers"},
        imagenet=lambda w: w.model == IMAGENET,
        backend=config["keras_backend"],
    script:
        "../scripts/interpret_filters.py"
