# Classification stage: the book's modern convnet patterns, cats vs dogs on the pets data (the
# classifiers are trained and evaluated by rules/training.smk).

CLASSIFICATION_OUTPUTS = [
    *expand(f"{CLS}/summaries/{{model}}.txt", model=SUMMARISED),
    f"{CLS}/comparison.csv",
    f"{CLS}/comparison.png",
]


# Every summary in one job: building a model takes a moment, starting TensorFlow several.
rule model_summaries:
    input:
        code=library("model_summaries.py"),
    output:
        [
            report(
                f"{CLS}/summaries/{model}.txt",
                caption="../report/model_summary.rst",
                category=CATEGORIES["classification"],
                subcategory="Model summaries",
                labels={"model": model},
            )
            for model in SUMMARISED
        ],
    log:
        "logs/classification/model_summaries.log",
    benchmark:
        "benchmarks/classification/model_summaries.tsv"
    conda:
        ENV
    threads: 1
    params:
        models=SUMMARISED,
        image_size=config["classification"]["image_size"],
        backend=BACKEND,
    script:
        "../scripts/model_summaries.py"


rule compare_classifiers:
    input:
        metrics=expand(f"{CLS}/{{model}}/metrics.json", model=CLASSIFIERS),
        summaries=expand(f"{CLS}/summaries/{{model}}.txt", model=CLASSIFIERS),
        code=library("compare_classifiers.py"),
    output:
        table=report(
            f"{CLS}/comparison.csv",
            caption="../report/comparison.rst",
            category=CATEGORIES["classification"],
        ),
        chart=report(
            f"{CLS}/comparison.png",
            caption="../report/comparison.rst",
            category=CATEGORIES["classification"],
        ),
    log:
        "logs/classification/compare.log",
    benchmark:
        "benchmarks/classification/compare.tsv"
    conda:
        ENV
    threads: 1
    params:
        models=CLASSIFIERS,
        # The book's figure per model (for the table and the caption): catalog facts, as values.
        book={model: catalog.book_figure(model) for model in CLASSIFIERS},
        data=config["dataset"]["source"],
    script:
        "../scripts/compare_classifiers.py"
