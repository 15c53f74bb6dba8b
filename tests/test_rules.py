"""Every rule declares its script and exactly the library modules the script imports, so that
editing one reruns the rules that use it and no others (Snakemake does not track imports by
itself, and tracks scripts only by their modification time)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from snakevision.config.imports import library_modules
from workflow import REPO, copy_workflow, snakemake, write_config

SCRIPTS = REPO / "scripts"
# Downloads are keyed by their checksum or URL, not by code (see rules/data.smk).
NO_CODE_INPUT = {"download", "fetch_imagenet", "fetch_picture"}
# Modules a script imports by name, one per job (rules/common.smk, training_code).
BY_NAME = {"train": {"snakevision/models/segmentation.py", "snakevision/models/classification.py"}}


def rule_scripts() -> dict[str, Path]:
    """Rule name -> its script, read from the rule files."""
    scripts = {}
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            script = re.search(r'script:\s*"\.\./(scripts/[^"]+)"', block)
            if script:
                scripts[block.split(":")[0]] = REPO / script.group(1)
    return scripts


def declared_library(output: str) -> dict[str, set[str]]:
    """Rule -> the library files among its jobs' inputs, from a dry run's job listing."""
    declared: dict[str, set[str]] = {}
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:    input: (.*)\n)?", output, flags=re.M)
    for rule, inputs in jobs:
        # Relative to the working directory: absolute paths would change when the project moves.
        files = {f.removeprefix("scripts/") for f in inputs.split(", ") if "scripts/" in f}
        assert all(f.endswith(".py") and not f.startswith("/") for f in files), files
        if rule in BY_NAME:  # each job lists one of them: all jobs together list them all
            assert len(files & BY_NAME[rule]) == 1, files
            declared[rule] = declared.get(rule, set()) | files
        else:
            assert declared.setdefault(rule, files) == files, f"jobs of {rule} differ: {files}"
    return declared


@pytest.fixture(scope="module")
def declared(tmp_path_factory) -> dict[str, set[str]]:
    """Declared modules of every rule, from dry runs of the real and the synthetic DAG."""
    found = {}
    for name, flags in (("real", ["--cores", "1"]), ("demo", ["--profile", "profiles/demo"])):
        work = copy_workflow(tmp_path_factory.mktemp(name))
        found.update(declared_library(snakemake(work, *flags, "--dry-run").stdout))
    return found


def test_every_scripted_rule_is_in_the_dry_runs(declared) -> None:
    assert set(rule_scripts()) <= set(declared), set(rule_scripts()) - set(declared)


@pytest.mark.parametrize("rule", sorted(rule_scripts()))
def test_rule_declares_its_script_and_exactly_the_modules_it_imports(declared, rule) -> None:
    script = rule_scripts()[rule]
    needed = set() if rule in NO_CODE_INPUT else {script, *library_modules(script)}
    assert declared[rule] == {str(p.relative_to(SCRIPTS)) for p in needed} | BY_NAME.get(
        rule, set()
    ), f"rule {rule}: its `code=library(...)` must name its own script, {script.name}"


def test_scan_follows_imports_through_modules_and_packages(tmp_path: Path) -> None:
    package = tmp_path / "snakevision"
    (package / "models").mkdir(parents=True)
    for name, text in {
        "__init__.py": "",
        "models/__init__.py": "",
        "models/net.py": "import keras\nfrom snakevision import layers\n",
        "layers.py": "from snakevision.maths import mean\n",
        "maths.py": "def mean(x):\n    import snakevision.unused_is_not_here\n",
        "plots.py": "import numpy\n",  # imported by nobody below
    }.items():
        (package / name).write_text(text)
    script = tmp_path / "train.py"
    script.write_text(
        "from snakevision.job.setup import start\n"  # no such module: skipped
        "def main():\n    from snakevision.models import net\n"
    )
    found = {str(p.relative_to(package)) for p in library_modules(script)}
    assert found == {"__init__.py", "models/__init__.py", "models/net.py", "layers.py", "maths.py"}


def training_jobs(output: str) -> list[str]:
    """The train jobs of a dry run's job listing, one text block each."""
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", output)  # one block per job
    return [b for b in blocks if re.search(r"^rule train:", b, flags=re.M)]


def training_memory(output: str) -> dict[str, int]:
    """Model -> mem_mb of its training job in a dry run's job listing."""
    found = {}
    for block in training_jobs(output):
        model = re.search(r"wildcards: task=\w+, run=(\w+)", block).group(1)
        found[model] = int(re.search(r"\bmem_mb=(\d+)", block).group(1))
    return found


def test_laptop_profile_trains_side_by_side_on_eight_cores(tmp_path: Path) -> None:
    # One training gains little from more threads: on 8 cores the laptop profile's four
    # trainings take 2 each and run at once, in less memory together than a 16 GB laptop has.
    work = copy_workflow(tmp_path)
    plan = snakemake(work, "--profile", "profiles/laptop", "--cores", "8", "--dry-run").stdout
    trainings = training_jobs(plan)
    assert len(trainings) == 4
    assert all(re.search(r"^    threads: 2$", b, flags=re.M) for b in trainings), trainings
    assert sum(training_memory(plan).values()) < 12_000
    assert "rule download:" in plan  # the real photographs


def test_training_asks_for_memory_by_batch_and_image_size(tmp_path: Path) -> None:
    work = copy_workflow(tmp_path)
    default = training_memory(snakemake(work, "--cores", "1", "--dry-run").stdout)
    assert set(default) == {"book", "unet", "convnet", "mini_xception"}
    # On a CPU the book's batch of 64 at 200x200 peaked at 4.5 GB in one pass and 1.6 GB in
    # the eight parts that micro_batches: auto makes (bench/README.md).
    assert 1600 <= default["book"] <= 2500
    # The U-Net's batch normalization needs whole batches: auto makes no parts.
    assert default["unet"] > 2 * default["book"]
    write_config(
        work / "big.yaml",
        {
            "segmentation": {
                "image_size": 400,
                "train": {"book": {"batch_size": 64, "micro_batches": 1}},
            },
            "classification": {"train": {"convnet": {"batch_size": 128}}},
        },
    )
    bigger = training_memory(
        snakemake(work, "--cores", "1", "--dry-run", "--configfile=big.yaml").stdout
    )
    assert bigger["book"] > 3 * 4600  # one pass, four times the pixels
    assert bigger["convnet"] > default["convnet"]
    assert bigger["mini_xception"] == default["mini_xception"]
    # The same through --config, whose nested values Snakemake passes as strings.
    overrides = [
        "segmentation={image_size: 400, train: {book: {batch_size: 64, micro_batches: 1}}}",
        "classification={train: {convnet: {batch_size: 128}}}",
    ]
    given = snakemake(work, "--cores", "1", "--dry-run", "--config", *overrides).stdout
    assert training_memory(given) == bigger
    # auto makes no parts under mixed_float16 (its loss scaling skips steps): one whole pass.
    f16_book = {"segmentation": {"train": {"book": {"precision": "mixed_float16"}}}}
    write_config(work / "f16.yaml", f16_book)
    f16 = training_memory(
        snakemake(work, "--cores", "1", "--dry-run", "--configfile=f16.yaml").stdout
    )
    assert f16["book"] > 2 * default["book"]


def test_rules_that_fetch_from_the_internet_run_where_snakemake_runs() -> None:
    # Compute nodes of a cluster often have no internet: downloads are local rules.
    fetching = {"download", "fetch_picture", "fetch_imagenet"}
    blocks = {}
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            blocks[block.split(":")[0]] = block
    assert fetching <= set(blocks)
    for rule in fetching:
        assert re.search(r"^    localrule: True", blocks[rule], flags=re.M), rule


def test_training_a_model_depends_on_its_own_tasks_builders_only(tmp_path: Path) -> None:
    work = copy_workflow(tmp_path)
    output = snakemake(work, "--cores", "1", "--dry-run").stdout
    jobs = re.findall(r"^rule train:\n    input: (.*)\n", output, flags=re.M)
    tasks = re.findall(r"^rule train:\n(?:    .*\n)*?    wildcards: task=(\w+)", output, flags=re.M)
    assert sorted(tasks) == ["classification"] * 2 + ["segmentation"] * 2
    for task, inputs in zip(tasks, jobs, strict=True):
        other = "classification" if task == "segmentation" else "segmentation"
        assert f"snakevision/models/{task}.py" in inputs
        assert f"snakevision/models/{other}.py" not in inputs
        assert "models/catalog.py" not in inputs  # a new entry retrains nothing
