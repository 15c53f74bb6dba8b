# Segmentation stage: the book's Conv2D/Conv2DTranspose model on the trimaps.

SEG = "results/segmentation"
SEG_DATA = "results/data/segmentation"
SEGMENTATION_OUTPUTS = [f"{SEG}/metrics.json", f"{SEG}/loss.png", f"{SEG}/masks.png"]


# The real train split's size is known once indexed: a batch larger than it fails here, once,
# before the arrays are built, rather than in training, whose retry would fail again.
rule check_batch_size:
    input:
        split=f"{SEG_DATA}/split.csv",
        code=library("check_batch_size.py"),
    output:
        f"{SEG}/batches.json",
    log:
        "logs/segmentation/check_batch_size.log",
    benchmark:
        "benchmarks/segmentation/check_batch_size.tsv"
    localrule: True  # a second's work: not worth a cluster job's queue
    conda:
        ENV
    threads: 1
    params:
        section="segmentation.train",
        batch_size=config["segmentation"]["train"]["batch_size"],
    script:
        "../scripts/check_batch_size.py"


rule train_segmentation:
    input:
        batches=f"{SEG}/batches.json",
        train_images=f"{SEG_DATA}/train_images.npy",
        train_masks=f"{SEG_DATA}/train_masks.npy",
        val_images=f"{SEG_DATA}/val_images.npy",
        val_masks=f"{SEG_DATA}/val_masks.npy",
        code=library("train_segmentation.py"),
    output:
        model=f"{SEG}/model.keras",
        history=report(
            f"{SEG}/history.csv",
            caption="../report/segmentation_history.rst",
            category="2. Segmentation",
        ),
    log:
        "logs/segmentation/train.log",
    benchmark:
        "benchmarks/segmentation/train.tsv"
    # A job killed midway (preempted, its node lost) gets one more try, which resumes from its
    # last finished epoch; the data rules fail the same way twice, so they get none.
    retries: 1
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=training_mem_mb(
            "segmentation",
            config["segmentation"]["image_size"],
            config["segmentation"]["train"],
        ),
        runtime=24 * 60,
    params:
        train=config["segmentation"]["train"],
        image_size=config["segmentation"]["image_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/train_segmentation.py"


rule evaluate_segmentation:
    input:
        model=f"{SEG}/model.keras",
        images=f"{SEG_DATA}/val_images.npy",
        truth=f"{SEG_DATA}/val_masks.npy",
        code=library("evaluate.py"),
    output:
        report(
            f"{SEG}/metrics.json",
            caption="../report/segmentation_metrics.rst",
            category="2. Segmentation",
        ),
    log:
        "logs/segmentation/evaluate.log",
    benchmark:
        "benchmarks/segmentation/evaluate.tsv"
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
        model=f"{SEG}/model.keras",
        history=f"{SEG}/history.csv",
        images=f"{SEG_DATA}/val_images.npy",
        masks=f"{SEG_DATA}/val_masks.npy",
        code=library("plot_segmentation.py"),
    output:
        loss=report(
            f"{SEG}/loss.png",
            caption="../report/segmentation_loss.rst",
            category="2. Segmentation",
        ),
        masks=report(
            f"{SEG}/masks.png",
            caption="../report/segmentation_masks.rst",
            category="2. Segmentation",
        ),
    log:
        "logs/segmentation/plot.log",
    benchmark:
        "benchmarks/segmentation/plot.tsv"
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
