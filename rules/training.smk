# Training and evaluation, one rule each for every run of both tasks and each of its seeds,
# under results/{task}/{run}/seed_{seed}/; then one summary per run and one comparison per task.

TRAINING_OUTPUTS = [
    *(path for task in TASKS for path in trainings(task, "metrics.json")),
    *(path for task in TASKS for path in trainings(task, "curves.png")),
    *(f"results/{task}/{run}/summary.json" for task in TASKS for run in RUNS[task]),
    *(f"results/{task}/{name}" for task in TASKS for name in ("comparison.csv", "seeds.png")),
]


rule train:
    input:
        unpack(training_inputs),
        code=training_code,
    output:
        model=f"{TRAINING}/model.keras",
        history=report(
            f"{TRAINING}/history.csv",
            caption="../report/history.rst",
            category=lookup(dpath="{task}", within=CATEGORIES),
            subcategory="{run}",
            labels={"seed": "{seed}", "file": "history.csv"},
        ),
    log:
        "logs/{task}/train_{run}_seed_{seed}.log",
    benchmark:
        "benchmarks/{task}/train_{run}_seed_{seed}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        run=one_of([*SEGMENTERS, *CLASSIFIERS]),
        seed=r"\d+",
    # No retries: a kill on the user's own machine stops the run (a rerun resumes). The SLURM
    # profile gives train one retry, for a job preempted or lost with its node.
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=lookup(dpath="{task}/{run}/mem_mb", within=RUN_TABLE),
        runtime=24 * 60,
    params:
        train=seed_settings,  # this seed's settings only: other settings never retrain it
        architecture=lookup(dpath="{task}/{run}/architecture", within=RUN_TABLE),
        image_size=lookup(dpath="{task}/image_size", within=config),
        tensorboard="logs/tensorboard/{task}/{run}/seed_{seed}",
        backend=BACKEND,
    script:
        "../scripts/train.py"


# A training's metrics on its held-out split and its curves: one job, one model load.
rule evaluate:
    input:
        unpack(evaluation_inputs),
        model=f"{TRAINING}/model.keras",
        history=f"{TRAINING}/history.csv",
        code=library("evaluate.py"),
    output:
        metrics=report(
            f"{TRAINING}/metrics.json",
            caption="../report/metrics_json.rst",
            category=lookup(dpath="{task}", within=CATEGORIES),
            subcategory="{run}",
            labels={"seed": "{seed}", "file": "metrics.json"},
        ),
        curves=report(
            f"{TRAINING}/curves.png",
            caption="../report/curves.rst",
            category=lookup(dpath="{task}", within=CATEGORIES),
            subcategory="{run}",
            labels={"seed": "{seed}", "file": "curves.png"},
        ),
    log:
        "logs/{task}/evaluate_{run}_seed_{seed}.log",
    benchmark:
        "benchmarks/{task}/evaluate_{run}_seed_{seed}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        run=one_of([*SEGMENTERS, *CLASSIFIERS]),
        seed=r"\d+",
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        batch_size=lookup(dpath="{task}/evaluate/batch_size", within=config),
        # Where the training stopped is read against the epochs asked for and the patience.
        training=lookup(dpath="{task}/{run}/length", within=RUN_TABLE),
        backend=BACKEND,
    script:
        "../scripts/evaluate.py"


# A run's spread over its seeds: adding a seed reruns that seed's jobs and the summaries.
rule summarise:
    input:
        metrics=run_metrics,
        code=library("summarise.py"),
    output:
        report(
            f"{RUN}/summary.json",
            caption="../report/summary.rst",
            category=lookup(dpath="{task}", within=CATEGORIES),
            subcategory="{run}",
            labels={"seed": "all", "file": "summary.json"},
        ),
    log:
        "logs/{task}/summarise_{run}.log",
    benchmark:
        "benchmarks/{task}/summarise_{run}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        run=one_of([*SEGMENTERS, *CLASSIFIERS]),
    conda:
        ENV
    threads: 1
    params:
        seeds=lookup(dpath="{task}/{run}/seeds", within=RUN_TABLE),
    script:
        "../scripts/summarise.py"


# The task's runs side by side (comparison.csv) and every seed's score and loss curves in one
# figure (seeds.png), from the summaries and histories alone: no model is loaded.
rule compare:
    input:
        summaries=task_summaries,
        histories=task_histories,
        code=library("compare.py"),
    output:
        table=report(
            "results/{task}/comparison.csv",
            caption="../report/comparison.rst",
            category=lookup(dpath="{task}", within=CATEGORIES),
            subcategory="Comparison",
            labels={"file": "comparison.csv"},
        ),
        figure=report(
            "results/{task}/seeds.png",
            caption="../report/seeds.rst",
            category=lookup(dpath="{task}", within=CATEGORIES),
            subcategory="Comparison",
            labels={"file": "seeds.png"},
        ),
    log:
        "logs/{task}/compare.log",
    benchmark:
        "benchmarks/{task}/compare.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
    conda:
        ENV
    threads: 1
    params:
        # Run -> its architecture, seeds and the book's figure, in the inputs' order.
        runs=lookup(dpath="{task}", within=RUN_TABLE),
    script:
        "../scripts/compare.py"
