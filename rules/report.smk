# Report stage: every headline metric in one table, the report's front page, and where the time
# and memory went (the figures are tracked by their own rules).

FRONT_PAGE = "results/report/front_page.rst"
HEADLINE = "results/report/headline.csv"  # report/workflow.rst includes the front page if present
# Every output of a run but the resources table, which gathers their jobs' benchmarks.
RUN_OUTPUTS = [
    "results/data/overview.png",
    *SEGMENTATION_OUTPUTS,
    *CLASSIFICATION_OUTPUTS,
    *INTERPRETATION_OUTPUTS,
    *PREDICT_OUTPUTS,
    "results/metrics.csv",
    FRONT_PAGE,
    HEADLINE,
]


rule metrics_table:
    input:
        segmenters=expand(f"{SEG}/{{model}}/metrics.json", model=SEGMENTERS),
        classifiers=expand(f"{CLS}/{{model}}/metrics.json", model=MODELS),
        code=library("metrics_table.py"),
    output:
        report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="5. Summary",
        ),
    log:
        "logs/report/metrics_table.log",
    benchmark:
        "benchmarks/report/metrics_table.tsv"
    conda:
        ENV
    threads: 1
    params:
        segmenters=SEGMENTERS,
        classifiers=MODELS,
    script:
        "../scripts/metrics_table.py"


# report/workflow.rst includes the page: the report opens on the results. The table is the page's,
# as data; in the report, its presence says that the page is there to include.
rule front_page:
    input:
        metrics="results/metrics.csv",
        split="results/data/split.csv",
        histories=[
            *(f"{SEG}/{m}/history.csv" for m in SEGMENTERS),
            *(f"{CLS}/{m}/history.csv" for m in MODELS),
        ],
        code=library("front_page.py"),
    output:
        page=FRONT_PAGE,
        table=report(
            HEADLINE,
            caption="../report/headline.rst",
            category="5. Summary",
        ),
    log:
        "logs/report/front_page.log",
    benchmark:
        "benchmarks/report/front_page.tsv"
    conda:
        ENV
    threads: 1
    params:
        models=[*SEGMENTERS, *MODELS],
        settings=front_page_settings(),
    script:
        "../scripts/front_page.py"


# Runs last: its inputs are every other output of the run, so every other job has written its
# benchmark; it reads them from benchmarks/ on disk (declared, they would be outputs other jobs
# wait on). Nothing reads its outputs but `all`: it never makes a stage rerun.
rule resources:
    input:
        outputs=RUN_OUTPUTS,
        code=library("resources.py"),
    output:
        table=report(
            "results/resources.csv",
            caption="../report/resources.rst",
            category="5. Summary",
        ),
        chart=report(
            "results/resources.png",
            caption="../report/resources.rst",
            category="5. Summary",
        ),
    log:
        "logs/report/resources.log",
    benchmark:
        "benchmarks/report/resources.tsv"
    conda:
        ENV
    threads: 1
    params:
        folder="benchmarks",
        rule="resources",
        patterns=benchmark_patterns,
    script:
        "../scripts/resources.py"
