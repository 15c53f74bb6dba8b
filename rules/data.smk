# Data stage: archives -> extracted files -> index -> split -> uint8 arrays -> overview.


# Downloads are keyed by checksum: the params are what the archive must be. Where and how it is
# fetched (url, retries, timeouts) the script reads from the config, so a new mirror reruns
# nothing downstream. When the rule does rerun, the script puts back the verified archive from
# its hard link beside it (downloads.kept_path) instead of fetching it again. (Not `update()`:
# on a failure it warns "Cannot restore ... no backup found", and it copies the archive first.)
rule download:
    output:
        "resources/downloads/{archive}.tar.gz",
    log:
        "logs/data/download_{archive}.log",
    benchmark:
        "benchmarks/data/download_{archive}.tsv"
    wildcard_constraints:
        archive=one_of(ARCHIVES),
    localrule: True
    conda:
        ENV
    threads: 1
    params:
        expected=download_expected,
    script:
        "../scripts/download.py"


rule synthesize:
    input:
        code=library("synthesize.py"),
    output:
        images="resources/synthetic/images.tar.gz",
        annotations="resources/synthetic/annotations.tar.gz",
    log:
        "logs/data/synthesize.log",
    benchmark:
        "benchmarks/data/synthesize.tsv"
    conda:
        ENV
    threads: THREADS
    params:
        # A section goes in whole, names and all: Snakemake compares params as an unnamed set
        # of values, which would not see seed and min_side trade their values.
        synthetic=config["dataset"]["synthetic"],
    script:
        "../scripts/synthesize.py"


rule extract:
    input:
        archive=archive_path,
        code=library("extract.py"),
    output:
        directory("resources/oxford_pets/{archive}"),
    log:
        "logs/data/extract_{archive}.log",
    benchmark:
        "benchmarks/data/extract_{archive}.tsv"
    wildcard_constraints:
        archive=one_of(ARCHIVES),
    conda:
        ENV
    threads: 1
    resources:
        runtime=30,
    params:
        # An archive put in resources/downloads/ by hand skips the download rule's checks.
        expected=archive_expected,
    script:
        "../scripts/extract.py"


rule index:
    input:
        images="resources/oxford_pets/images",
        annotations="resources/oxford_pets/annotations",
        code=library("index.py"),
    output:
        f"{DATA}/index.csv",
    log:
        "logs/data/index.log",
    benchmark:
        "benchmarks/data/index.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/index.py"


# One split per task, so that changing one task's split reruns only that task's arrays and models.
rule split:
    input:
        index=f"{DATA}/index.csv",
        code=library("split.py"),
    output:
        f"{TASK_DATA}/split.csv",
    log:
        "logs/data/split_{task}.log",
    benchmark:
        "benchmarks/data/split_{task}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
    conda:
        ENV
    threads: 1
    params:
        seed=config["split"]["seed"],
        settings=lookup(dpath="split/{task}", within=config),
    script:
        "../scripts/split.py"


rule split_table:
    input:
        splits=expand(f"{TASK_DATA}/split.csv", task=TASKS),
        code=library("split_table.py"),
    output:
        f"{DATA}/split.csv",
    log:
        "logs/data/split_table.log",
    benchmark:
        "benchmarks/data/split_table.tsv"
    conda:
        ENV
    threads: 1
    script:
        "../scripts/split_table.py"


# One array per job: a split's images, or their truth (masks, labels), rows in split.csv order.
rule arrays:
    input:
        index=f"{DATA}/index.csv",
        split=f"{TASK_DATA}/split.csv",
        files=array_files,
        code=library("build_arrays.py"),
    output:
        f"{TASK_DATA}/{{split}}_{{kind}}.npy",
    log:
        "logs/data/arrays_{task}_{split}_{kind}.log",
    benchmark:
        "benchmarks/data/arrays_{task}_{split}_{kind}.tsv"
    wildcard_constraints:
        task=one_of(TASKS),
        split=one_of(["train", "val", "test"]),
        kind=one_of(["images", "masks", "labels"]),
    conda:
        ENV
    threads: THREADS
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        size=lookup(dpath="{task}/image_size", within=config),
    script:
        "../scripts/build_arrays.py"


rule overview:
    input:
        index=f"{DATA}/index.csv",
        split=f"{DATA}/split.csv",
        files=extracted("images", "annotations"),
        code=library("overview.py"),
    output:
        report(
            f"{DATA}/overview.png",
            caption="../report/overview.rst",
            category="1. Data",
        ),
    log:
        "logs/data/overview.log",
    benchmark:
        "benchmarks/data/overview.tsv"
    conda:
        ENV
    threads: 1
    params:
        overview=config["overview"],  # whole, as in rule synthesize
    script:
        "../scripts/overview.py"
