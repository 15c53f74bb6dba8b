# Segmentation stage: the runs of the book's Conv2D/Conv2DTranspose model and a U-Net on the
# trimaps (trained, evaluated and compared by rules/training.smk), and their masks of the same
# validation images.

SEGMENTATION_OUTPUTS = [
    *expand(f"{SEG}/{{run}}/masks.png", run=SEGMENTERS),
    f"{SEG}/comparison.png",
]


# The real train split's size is known once indexed: a batch larger than it fails here, once,
# before the arrays are built, rather than in training, whose retry would fail again.
rule check_batch_size:
    input:
        split=f"{DATA}/segmentation/split.csv",
        code=library("check_batch_size.py"),
    output:
        f"{SEG}/{{run}}/batches.json",
    log:
        "logs/segmentation/check_batch_size_{run}.log",
    benchmark:
        "benchmarks/segmentation/check_batch_size_{run}.tsv"
    wildcard_constraints:
        run=one_of(SEGMENTERS),
    localrule: True  # a second's work: not worth a cluster job's queue
    conda:
        ENV
    threads: 1
    params:
        batch=lookup(dpath="segmentation/{run}/batch", within=RUN_TABLE),
    script:
        "../scripts/check_batch_size.py"


# The same seeded validation images through each run's first seed: one gallery per run
# (masks.png) and all of them together (comparison.png), from one load each.
rule galleries:
    input:
        models=[first_training(SEGMENTATION, run) for run in SEGMENTERS],
        images=f"{DATA}/segmentation/val_images.npy",
        masks=f"{DATA}/segmentation/val_masks.npy",
        code=library("galleries.py"),
    output:
        masks=report(
            f"{SEG}/comparison.png",
            caption="../report/segmentation_comparison.rst",
            category=CATEGORIES[SEGMENTATION],
            subcategory="Comparison",
            labels={"file": "comparison.png"},
        ),
        galleries=[
            report(
                f"{SEG}/{run}/masks.png",
                caption="../report/segmentation_masks.rst",
                category=CATEGORIES[SEGMENTATION],
                subcategory=run,
                labels={
                    "seed": str(RUNS[SEGMENTATION][run].seeds[0]),
                    "file": "masks.png",
                },
            )
            for run in SEGMENTERS
        ],
    log:
        "logs/segmentation/galleries.log",
    benchmark:
        "benchmarks/segmentation/galleries.tsv"
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
        "../scripts/galleries.py"
