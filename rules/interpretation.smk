# Interpretation stage: what the convnets learned (the book's 9.4): intermediate activations,
# filter patterns and Grad-CAM, for our trained classifiers and the ImageNet Xception.

INTERPRETATION_OUTPUTS = [
    *(
        f"{INTERP}/activations/{m}"
        for m in EXPLAINED
        if m != IMAGENET and EXPLANATIONS[m]["explains"]
    ),
    *(f"{INTERP}/gradcam/{m}" for m in EXPLAINED if EXPLANATIONS[m]["explains"]),
    *(
        f"{INTERP}/filters/{m}/{layer}.png"
        for m in EXPLAINED
        for layer in EXPLANATIONS[m]["filters"]
    ),
]

# A model's Grad-CAM folder: heatmap, overlay and predictions per picture.
GRADCAM = report(
    directory(f"{INTERP}/gradcam/{{model}}"),
    patterns=["{image}/overlay.jpg", "{image}/heatmap.png", "{image}/predictions.json"],
    caption="../report/gradcam.rst",
    category="4. Interpretation",
    subcategory="Grad-CAM",
    labels={"model": "{model}", "picture": "{image}"},
)


rule fetch_imagenet:
    output:
        f"{FETCHED}/{{file}}",
    log:
        "logs/interpretation/fetch_{file}.log",
    benchmark:
        "benchmarks/interpretation/fetch_{file}.tsv"
    wildcard_constraints:
        file=one_of(imagenet.DOWNLOADS),
    localrule: True
    conda:
        ENV
    threads: 1
    params:
        # Keyed by content, as the archives are: a file already fetched is never fetched again.
        url=lookup(dpath="{file}/url", within=imagenet.DOWNLOADS),
        md5=lookup(dpath="{file}/md5", within=imagenet.DOWNLOADS),
    script:
        "../scripts/fetch_imagenet.py"


# A trained classifier run's activation grids and Grad-CAM maps: one job, one model load.
rule explain:
    input:
        unpack(explanation_inputs),
        code=library("explain.py"),
    output:
        activations=report(
            directory(f"{INTERP}/activations/{{model}}"),
            patterns=["{image}/{figure}.png"],
            caption="../report/activations.rst",
            category="4. Interpretation",
            subcategory="Activations",
            labels={"model": "{model}", "picture": "{image}", "layer": "{figure}"},
        ),
        gradcam=GRADCAM,
    log:
        "logs/interpretation/explain_{model}.log",
    benchmark:
        "benchmarks/interpretation/explain_{model}.tsv"
    wildcard_constraints:
        model=one_of([m for m in EXPLAINED if m != IMAGENET]),
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        pictures=lookup(dpath="{model}/pictures", within=EXPLANATIONS),
        # A picture replaced at the same path reruns the job.
        content=lookup(dpath="{model}/content", within=EXPLANATIONS),
        gradcam=lookup(dpath="{model}/gradcam", within=EXPLANATIONS),
        imagenet=lookup(dpath="{model}/imagenet", within=EXPLANATIONS),
        backend=BACKEND,
    script:
        "../scripts/explain.py"


# The ImageNet Xception's Grad-CAM maps (the book's elephant) alone: its activation grids, the
# book draws none of, would be thousands of channels.
use rule explain as explain_imagenet with:
    output:
        gradcam=GRADCAM,
    wildcard_constraints:
        model=one_of([IMAGENET]),


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
        model=one_of(EXPLAINED),
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
        filters=FILTERS,
        imagenet=lookup(dpath="{model}/imagenet", within=EXPLANATIONS),
        backend=BACKEND,
    script:
        "../scripts/interpret_filters.py"
