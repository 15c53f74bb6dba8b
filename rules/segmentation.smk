# Segmentation stage: the book's Conv2D/Conv2DTranspose model and a U-Net on the trimaps, each
# under results/segmentation/{model}/, then compared on the same validation images.

SEG = "results/segmentation"
SEG_DATA = "results/data/segmentation"
SEGMENTERS = config["segmentation"]["models"]
SEGMENTATION_OUTPUTS = [
    *expand(
        f"{SEG}/{{model}}/{{name}}",
        model=SEGMENTERS,
        name=["metrics.json", "loss.png", "masks.png"],
    ),
    f"{SEG}/comparison.csv",
    f"{SEG}/comparison.png",
]


# The real train split's size is known once indexed: a batch larger than it fails here, once,
# before the arrays are built, rather than in training, whose retry would fail again.
rule check_batch_size:
    input:
        split=f"{SEG_DATA}/split.csv",
        code=library("check_batch_size.py"),
    output:
        f"{SEG}/{{model}}/batches.json",
    log:
        "logs/segmentation/check_batch_size_{model}.log",
    benchmark:
        "benchmarks/segmentation/check_batch_size_{model}.tsv"
    wildcard_constraints:
        model="|".join(SEGMENTERS),
    localrule: True  # a second's work: not worth a cluster job's queue
    conda:
        ENV
    threads: 1
    params:
        section=lambda w: f"segmentation.train.{w.model}",
        batch_size=lambda w: config["segmentation"]["train"][w.model]["batch_size"],
    script:
        "../scripts/check_batch_size.py"


rule train_segmentation:
    input:
        batches=f"{SEG}/{{model}}/batches.json",
        train_images=f"{SEG_DATA}/train_images.npy",
        train_masks=f"{SEG_DATA}/train_masks.npy",
        val_images=f"{SEG_DATA}/val_images.npy",
        val_masks=f"{SEG_DATA}/val_masks.npy",
        code=library("train_segmentation.py"),
    output:
        model=f"{SEG}/{{model}}/model.keras",
        history=report(
            f"{SEG}/{{model}}/history.csv",
            caption="../report/segmentation_history.rst",
            category="2. Segmentation",
            subcategory="{model}",
        ),
    log:
        "logs/segmentation/train_{model}.log",
    benchmark:
        "benchmarks/segmentation/train_{model}.tsv"
    wildcard_constraints:
        model="|".join(SEGMENTERS),
    # A job killed midway (preempted, its node lost) gets one more try, which resumes from its
    # last finished epoch; the data rules fail the same way twice, so they get none.
    retries: 1
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=lambda w: training_mem_mb(
            w.model,
            config["segmentation"]["image_size"],
            config["segmentation"]["train"][w.model],
        ),
        runtime=24 * 60,
    params:
        train=lambda w: config["segmentation"]["train"][w.model],
        image_size=config["segmentation"]["image_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/train_segmentation.py"


rule evaluate_segmentation:
    input:
        model=f"{SEG}/{{model}}/model.keras",
        images=f"{SEG_DATA}/val_images.npy",
        truth=f"{SEG_DATA}/val_masks.npy",
        code=library("evaluate.py"),
    output:
        report(
            f"{SEG}/{{model}}/metrics.json",
            caption="../report/segmentation_metrics.rst",
            category="2. Segmentation",
            subcategory="{model}",
        ),
    log:
        "logs/segmentation/evaluate_{model}.log",
    benchmark:
        "benchmarks/segmentation/evaluate_{model}.tsv"
    wildcard_constraints:
        model="|".join(SEGMENTERS),
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        task="segmentation",
        batch_size=config["segmentation"]["evaluate"]["batch_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/evaluate.py"


rule plot_segmentation:
    input:
        model=f"{SEG}/{{model}}/model.keras",
        history=f"{SEG}/{{model}}/history.csv",
        images=f"{SEG_DATA}/val_images.npy",
        masks=f"{SEG_DATA}/val_masks.npy",
        code=library("plot_segmentation.py"),
    output:
        loss=report(
            f"{SEG}/{{model}}/loss.png",
            caption="../report/segmentation_loss.rst",
            category="2. Segmentation",
            subcategory="{model}",
        ),
        masks=report(
            f"{SEG}/{{model}}/masks.png",
            caption="../report/segmentation_masks.rst",
            category="2. Segmentation",
            subcategory="{model}",
        ),
    log:
        "logs/segmentation/plot_{model}.log",
    benchmark:
        "benchmarks/segmentation/plot_{model}.tsv"
    wildcard_constraints:
        model="|".join(SEGMENTERS),
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        plot=config["segmentation"]["plot"],  # whole, as in rule synthesize
        backend=config["keras_backend"],
    script:
        "../scripts/plot_segmentation.py"


rule compare_segmenters:
    input:
        models=expand(f"{SEG}/{{model}}/model.keras", model=SEGMENTERS),
        metrics=expand(f"{SEG}/{{model}}/metrics.json", model=SEGMENTERS),
        images=f"{SEG_DATA}/val_images.npy",
        masks=f"{SEG_DATA}/val_masks.npy",
        code=library("compare_segmenters.py"),
    output:
        table=report(
            f"{SEG}/comparison.csv",
            caption="../report/segmentation_comparison.rst",
            category="2. Segmentation",
        ),
        masks=report(
            f"{SEG}/comparison.png",
            caption="../report/segmentation_comparison.rst",
            category="2. Segmentation",
        ),
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
        plot=config["segmentation"]["plot"],  # the same images as each model's masks.png
        backend=config["keras_backend"],
    script:
        "../scripts/compare_segmenters.py"
