# Report stage: every headline metric in one table, the report's front page, and where the time
# and memory went (the figures are tracked by their own rules).

FRONT_PAGE = f"{REPORT}/front_page.rst"
HEADLINE = (
    f"{REPORT}/headline.csv"  # report/workflow.rst includes the front page if present
)
# Every output of a run but the resources table, which gathers their jobs' benchmarks.
RUN_OUTPUTS = [
    f"{DATA}/overview.png",
    *TRAINING_OUTPUTS,
    *SEGMENTATION_OUTPUTS,
    *CLASSIFICATION_OUTPUTS,
    *INTERPRETATION_OUTPUTS,
    *PREDICT_OUTPUTS,
    "results/metrics.csv",
    FRONT_PAGE,
    HEADLINE,
]


# The metrics table and the front page, straight from every model's summary over its seeds. The report's
# workflow.rst includes the page; the headline table's presence says the page is there.
rule headline:
    input:
        summaries=[f"results/{t}/{m}/summary.json" for t in TASKS for m in TRAINED[t]],
        # The first seed's, for the precision it trained in.
        histories=[first_run(t, m, "history.csv") for t in TASKS for m in TRAINED[t]],
        split=f"{DATA}/split.csv",
        code=library("headline.py"),
    output:
        metrics=report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="5. Summary",
        ),
        page=FRONT_PAGE,
        table=report(
            HEADLINE,
            caption="../report/headline.rst",
            category="5. Summary",
        ),
    log:
        "logs/report/headline.log",
    benchmark:
        "benchmarks/report/headline.tsv"
    conda:
        ENV
    threads: 1
    params:
        models=[[t, m] for t in TASKS for m in TRAINED[t]],  # task and model of each summary
        book={m: catalog.book_figure(m) for t in TASKS for m in TRAINED[t]},
        settings=front_page_settings(),
    script:
        "../scripts/headline.py"


# Runs last: its inputs are every other output of the run, so every other job has written its
# benchmark; it reads them from benchmarks/ on disk (declared, they would be outputs other jobs
# wait on). Nothing reads its outputs but `all`: it never makes a stage rerun.
rule resources:
    input:
        outputs=RUN_OUTPUTS,
        code=library("gather_resources.py"),
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
        "../scripts/gather_resources.py"
