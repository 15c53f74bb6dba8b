# Training and evaluation, one rule each for every model of both tasks, under
# results/{task}/{model}/: the model (best val_loss), its history, metrics and curves.

TRAINING_OUTPUTS = [
    f"results/{task}/{model}/{name}"
    for task in TASKS
    for model in TRAINED[task]
    for name in ("metrics.json", "curves.png")
]


rule train:
    input:
        unpack(training_inputs),
        code=training_code,
    output:
        model=f"{RUN}/model.keras",
        history=report(
            f"{RUN}/history.csv",
            caption="../report/history.rst",
            category=category,
            subcategory="{model}",
        ),
    log:
        "logs/{task}/train_{model}.log",
    benchmark:
        "benchmarks/{task}/train_{model}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        model=one_of([*SEGMENTERS, *CLASSIFIERS]),
    # A job killed midway (preempted, its node lost) gets one more try, which resumes from its
    # last finished epoch; the data rules fail the same way twice, so they get none.
    retries: 1
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=training_mem_mb,
        runtime=24 * 60,
    params:
        train=section,  # only this model's section: other settings never retrain it
        image_size=image_size,
        backend=BACKEND,
    script:
        "../scripts/train.py"


# A model's metrics on its held-out split and its training curves: one job, one model load.
rule evaluate:
    input:
        unpack(evaluation_inputs),
        model=f"{RUN}/model.keras",
        history=f"{RUN}/history.csv",
        code=library("evaluate.py"),
    output:
        metrics=report(
            f"{RUN}/metrics.json",
            caption="../report/metrics_json.rst",
            category=category,
            subcategory="{model}",
        ),
        curves=report(
            f"{RUN}/curves.png",
            caption="../report/curves.rst",
            category=category,
            subcategory="{model}",
        ),
    log:
        "logs/{task}/evaluate_{model}.log",
    benchmark:
        "benchmarks/{task}/evaluate_{model}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        model=one_of([*SEGMENTERS, *CLASSIFIERS]),
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        batch_size=evaluate_batch_size,
        backend=BACKEND,
    script:
        "../scripts/evaluate.py"
