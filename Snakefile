# snakevision: the computer-vision experiments of Deep Learning with Python, chapter 9.
# Run `snakemake --cores N` (real data) or `snakemake --profile profiles/demo` (offline demo).

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from snakevision.config.schema import parse_nested_strings
from snakevision.config.sources import (
    config_files,
    missing_profile,
    where_to_fix,
    with_profile,
)
from snakevision.config.check import ConfigError, check

SCHEMA = Path(workflow.basedir) / "config.schema.yaml"
GIVEN = workflow.config_settings
# A --configfile on the command line replaces a profile's configfiles list, not its config list
# (profile=demo): merge the settings file of the profile config names back in, under the user's
# files (config.yaml < profiles/<name>/<name>.yaml < each --configfile < --config).
PROFILE_FILE = missing_profile(config.get("profile"), workflow.basedir, GIVEN.configfiles)
if PROFILE_FILE:
    WORKFLOW_FILE = None if GIVEN.replace_workflow_config else "config.yaml"
    rebuilt = with_profile(WORKFLOW_FILE, PROFILE_FILE, GIVEN.overwrite_config)
    config.clear()
    config.update(rebuilt)
    if workflow.is_main_process:  # not again in each cluster job
        print(
            f"Profile {config['profile']}: its settings ({os.path.relpath(PROFILE_FILE)}) "
            "are kept under the --configfile given on the command line (config.yaml < "
            "profile settings < each --configfile < --config).",
            file=sys.stderr,
        )
# Nested --config values arrive as strings; parse those the schema wants as numbers.
parse_nested_strings(config, SCHEMA, GIVEN.config)
try:
    check(config, SCHEMA, Path(workflow.basedir))
except ConfigError as error:
    # Name where each value was set: config.yaml, the profile's settings file where it was
    # merged in here, a --configfile (a profile's too), --config.
    profile = (config["profile"], PROFILE_FILE) if PROFILE_FILE else None
    files = config_files("config.yaml", GIVEN.configfiles, profile=profile)
    raise WorkflowError(f"{error}\n{where_to_fix(error.problems, files, GIVEN.config)}")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/training.smk"
include: "rules/segmentation.smk"
include: "rules/classification.smk"
include: "rules/pictures.smk"
include: "rules/interpretation.smk"
include: "rules/predict.smk"
include: "rules/report.smk"


# Before any job of a local run: --resources gpu=N must not exceed the GPUs found. On a cluster
# it bounds jobs across nodes, not this machine; job processes skip hooks.
onstart:
    if workflow.local_exec:
        from snakevision.job import gpus

        try:
            note = gpus.check_request(workflow.global_resources.get("gpu").value)
        except gpus.GpuError as error:
            raise WorkflowError(str(error))
        if note:
            print(note, file=sys.stderr)


rule all:
    default_target: True
    input:
        RUN_OUTPUTS,
        "results/resources.csv",
