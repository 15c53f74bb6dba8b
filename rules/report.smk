# Report stage: every headline metric in one table (the figures are tracked by their own rules).


rule metrics_table:
    input:
        segmentation=f"{SEG}/metrics.json",
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
        models=MODELS,
    script:
        "../scripts/metrics_table.py"
