# Segmentation stage: the book's Conv2D/Conv2DTranspose model and a U-Net on the trimaps (trained
# and evaluated by rules/training.smk), compared on the same validation images.

SEGMENTATION_OUTPUTS = [
    *expand(f"{SEG}/{{model}}/masks.png", model=SEGMENTERS),
    f"{SEG}/comparison.csv",
    f"{SEG}/comparison.png",
]


# The real train split's size is known once indexed: a batch larger than it fails here, once,
# before the arrays are built, rather than in training, whose retry would fail again.
rule check_batch_size:
    input:
        split=f"{DATA}/segmentation/split.csv",
        code=library("check_batch_size.py"),
    output:
        f"{SEG}/{{model}}/batches.json",
    log:
        "logs/segmentation/check_batch_size_{model}.log",
    benchmark:
        "benchmarks/segmentation/check_batch_size_{model}.tsv"
    wildcard_constraints:
        model=one_of(SEGMENTERS),
    localrule: True  # a second's work: not worth a cluster job's queue
    conda:
        ENV
    threads: 1
    params:
        section=batch_size_key,
        batch_size=segmentation_batch_size,
    script:
        "../scripts/check_batch_size.py"


# Every model's metrics side by side, and the same seeded validation images through each: one
# gallery per model (masks.png) and all of them together (comparison.png), from one load each.
rule compare_segmenters:
    input:
        models=expand(f"{SEG}/{{model}}/model.keras", model=SEGMENTERS),
        metrics=expand(f"{SEG}/{{model}}/metrics.json", model=SEGMENTERS),
        images=f"{DATA}/segmentation/val_images.npy",
        masks=f"{DATA}/segmentation/val_masks.npy",
        code=library("compare_segmenters.py"),
    output:
        table=report(
            f"{SEG}/comparison.csv",
            caption="../report/segmentation_comparison.rst",
            category=CATEGORIES["segmentation"],
        ),
        masks=report(
            f"{SEG}/comparison.png",
            caption="../report/segmentation_comparison.rst",
            category=CATEGORIES["segmentation"],
        ),
        galleries=[
            report(
                f"{SEG}/{model}/masks.png",
                caption="../report/segmentation_masks.rst",
                category=CATEGORIES["segmentation"],
                subcategory=model,
            )
            for model in SEGMENTERS
        ],
    log:
        "logs/segmentation/compare.log",
    benchmark:
        "benchmarks/segmentation/compare.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        models=SEGMENTERS,
        plot=config["segmentation"]["plot"],  # whole, as in rule synthesize
        backend=BACKEND,
    script:
        "../scripts/compare_segmenters.py"
