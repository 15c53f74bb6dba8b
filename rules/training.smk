# Training and evaluation, one rule each for every model of both tasks and each of its seeds,
# under results/{task}/{model}/seed_{seed}/; then one summary per task over the seeds.

TRAINING_OUTPUTS = [
    *(path for task in TASKS for path in runs(task, "metrics.json")),
    *(path for task in TASKS for path in runs(task, "curves.png")),
    *(
        f"results/{task}/{model}/summary.json"
        for task in TASKS
        for model in TRAINED[task]
    ),
    *(
        f"results/{task}/{name}"
        for task in TASKS
        for name in ("comparison.csv", "seeds.png")
    ),
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
            labels={"seed": "{seed}", "file": "history.csv"},
        ),
    log:
        "logs/{task}/train_{model}_seed_{seed}.log",
    benchmark:
        "benchmarks/{task}/train_{model}_seed_{seed}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        model=one_of([*SEGMENTERS, *CLASSIFIERS]),
        seed=r"\d+",
    # No `retries:` here: on a local run a killed training stops the run (a rerun resumes it).
    # The cluster profile gives train one retry (preemptible-retries), which resumes from the
    # last finished epoch of a job preempted or lost with its node.
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=training_mem_mb,
        runtime=24 * 60,
    params:
        train=seed_section,  # this seed's settings only: other settings never retrain it
        image_size=image_size,
        tensorboard=tensorboard_dir,
        backend=BACKEND,
    script:
        "../scripts/train.py"


# A training's metrics on its held-out split and its curves: one job, one model load.
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
            labels={"seed": "{seed}", "file": "metrics.json"},
        ),
        curves=report(
            f"{RUN}/curves.png",
            caption="../report/curves.rst",
            category=category,
            subcategory="{model}",
            labels={"seed": "{seed}", "file": "curves.png"},
        ),
    log:
        "logs/{task}/evaluate_{model}_seed_{seed}.log",
    benchmark:
        "benchmarks/{task}/evaluate_{model}_seed_{seed}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        model=one_of([*SEGMENTERS, *CLASSIFIERS]),
        seed=r"\d+",
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        batch_size=evaluate_batch_size,
        training=training_length,
        backend=BACKEND,
    script:
        "../scripts/evaluate.py"


# A model's spread over its seeds: adding a seed reruns that seed's jobs and the summaries.
rule summarise:
    input:
        metrics=model_runs,
        code=library("summarise.py"),
    output:
        report(
            f"{MODEL}/summary.json",
            caption="../report/summary.rst",
            category=category,
            subcategory="{model}",
            labels={"seed": "all", "file": "summary.json"},
        ),
    log:
        "logs/{task}/summarise_{model}.log",
    benchmark:
        "benchmarks/{task}/summarise_{model}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        model=one_of([*SEGMENTERS, *CLASSIFIERS]),
    conda:
        ENV
    threads: 1
    params:
        seeds=model_seeds,
    script:
        "../scripts/summarise.py"


# The task's models side by side (comparison.csv) and every seed's score and loss curves in one
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
            category=category,
            subcategory="Comparison",
            labels={"file": "comparison.csv"},
        ),
        figure=report(
            "results/{task}/seeds.png",
            caption="../report/seeds.rst",
            category=category,
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
        seeds=task_seeds,
        book=task_book_figures,  # for the table, the figure and the caption
    script:
        "../scripts/compare.py"
