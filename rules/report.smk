# Report stage: every reported metric in one table, the report's front page, and where the time
# and memory went (the figures are tracked by their own rules).

FRONT_PAGE = f"{REPORT}/front_page.rst"
FRONT_PAGE_TABLE = f"{REPORT}/front_page.csv"  # report/workflow.rst includes the page with it
ALL_RUNS = [run for found in RUNS.values() for run in found.values()]
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
    FRONT_PAGE_TABLE,
]


# Every reported metric in one table, and the report's front page with its tables, straight
# from every run's summary over its seeds.
rule front_page:
    input:
        summaries=[f"results/{r.task}/{r.name}/summary.json" for r in ALL_RUNS],
        # The first seed's, for the precision it trained in.
        histories=[first_training(r.task, r.name, "history.csv") for r in ALL_RUNS],
        split=f"{DATA}/split.csv",
        code=library("front_page.py"),
    output:
        metrics=report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="5. Summary",
        ),
        page=FRONT_PAGE,
        table=report(
            FRONT_PAGE_TABLE,
            caption="../report/front_page_table.rst",
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
        runs={r.name: r.record() for r in ALL_RUNS},  # in the inputs' order
        settings={
            "profile": config["profile"],
            "source": config["dataset"]["source"],
            "backend": BACKEND,
        },
    script:
        "../scripts/front_page.py"


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
