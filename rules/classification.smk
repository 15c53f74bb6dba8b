# Classification stage: the book's modern convnet patterns, cats vs dogs on the pets data.

CLS = "results/classification"
CLS_DATA = "results/data/classification"
MODELS = config["classification"]["models"]
SUMMARIES = [
    "convnet",
    "mini_xception",
    "residual_demo",
    "projection_demo",
    "pooling_demo",
]
CLASSIFICATION_OUTPUTS = [
    *expand(
        f"{CLS}/{{model}}/{{name}}", model=MODELS, name=["metrics.json", "curves.png"]
    ),
    *expand(f"{CLS}/summaries/{{summary}}.txt", summary=SUMMARIES),
    f"{CLS}/comparison.csv",
    f"{CLS}/comparison.png",
]


rule model_summary:
    input:
        code=library("model_summary.py"),
    output:
        report(
            f"{CLS}/summaries/{{summary}}.txt",
            caption="../report/model_summary.rst",
            category="3. Classification",
            subcategory="Model summaries",
            labels={"model": "{summary}"},
        ),
    log:
        "logs/classification/summary_{summary}.log",
    benchmark:
        "benchmarks/classification/summary_{summary}.tsv"
    wildcard_constraints:
        summary="|".join(SUMMARIES),
    conda:
        ENV
    threads: 1
    params:
        image_size=config["classification"]["image_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/model_summary.py"


rule train_classifier:
    input:
        train_images=f"{CLS_DATA}/train_images.npy",
        train_labels=f"{CLS_DATA}/train_labels.npy",
        val_images=f"{CLS_DATA}/val_images.npy",
        val_labels=f"{CLS_DATA}/val_labels.npy",
        code=library("train_classifier.py"),
    output:
        model=f"{CLS}/{{model}}/model.keras",
        history=report(
            f"{CLS}/{{model}}/history.csv",
            caption="../report/classifier_history.rst",
            category="3. Classification",
            subcategory="{model}",
        ),
    log:
        "logs/classification/train_{model}.log",
    benchmark:
        "benchmarks/classification/train_{model}.tsv"
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
            config["classification"]["image_size"],
            config["classification"]["train"][w.model],
        ),
        runtime=24 * 60,
    params:
        train=lambda w: config["classification"]["train"][w.model],
        image_size=config["classification"]["image_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/train_classifier.py"


rule evaluate_classifier:
    input:
        model=f"{CLS}/{{model}}/model.keras",
        images=f"{CLS_DATA}/test_images.npy",
        truth=f"{CLS_DATA}/test_labels.npy",
        code=library("evaluate.py"),
    output:
        report(
            f"{CLS}/{{model}}/metrics.json",
            caption="../report/classifier_metrics.rst",
            category="3. Classification",
            subcategory="{model}",
        ),
    log:
        "logs/classification/evaluate_{model}.log",
    benchmark:
        "benchmarks/classification/evaluate_{model}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        task="classification",
        batch_size=config["classification"]["evaluate"]["batch_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/evaluate.py"


rule plot_classifier:
    input:
        history=f"{CLS}/{{model}}/history.csv",
        code=library("plot_classifier.py"),
    output:
        report(
            f"{CLS}/{{model}}/curves.png",
            caption="../report/classifier_curves.rst",
            category="3. Classification",
            subcategory="{model}",
        ),
    log:
        "logs/classification/plot_{model}.log",
    benchmark:
        "benchmarks/classification/plot_{model}.tsv"
    conda:
        ENV
    threads: 1
    script:
        "../scripts/plot_classifier.py"


rule compare_classifiers:
    input:
        metrics=expand(f"{CLS}/{{model}}/metrics.json", model=MODELS),
        summaries=expand(f"{CLS}/summaries/{{model}}.txt", model=MODELS),
        code=library("compare_classifiers.py"),
    output:
        table=report(
            f"{CLS}/comparison.csv",
            caption="../report/comparison.rst",
            category="3. Classification",
        ),
        chart=report(
            f"{CLS}/comparison.png",
            caption="../report/comparison.rst",
            category="3. Classification",
        ),
    log:
        "logs/classification/compare.log",
    benchmark:
        "benchmarks/classification/compare.tsv"
    conda:
        ENV
    threads: 1
    params:
        models=MODELS,
        data=(
            "synthetic"
            if config["dataset"]["source"] == "synthetic"
            else "Oxford pets"
        ),
    script:
        "../scripts/compare_classifiers.py"
