# Classification stage: the book's modern convnet patterns, cats vs dogs on the pets data (the
# classifiers are trained, evaluated and compared by rules/training.smk), and their summaries.

CLASSIFICATION_OUTPUTS = expand(f"{CLS}/summaries/{{model}}.txt", model=SUMMARISED)


# Every summary in one job: building a model takes a moment, starting TensorFlow several.
rule model_summaries:
    input:
        code=library("model_summaries.py"),
    output:
        [
            report(
                f"{CLS}/summaries/{model}.txt",
                caption="../report/model_summary.rst",
                category=CATEGORIES[CLASSIFICATION],
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
