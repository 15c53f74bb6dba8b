# snakevision: the computer-vision experiments of Deep Learning with Python, chapter 9.
# Run `snakemake --cores N` (real data) or `snakemake --profile profiles/demo` (offline demo).

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from snakevision.config_schema import parse_nested_strings
from snakevision.config_sources import config_files, where_to_fix
from snakevision.configuration import ConfigError, check

SCHEMA = Path(workflow.basedir) / "config.schema.yaml"
# Nested --config values arrive as strings; parse those the schema wants as numbers.
parse_nested_strings(config, SCHEMA, workflow.config_settings.config)
try:
    check(config, SCHEMA)
except ConfigError as error:
    # Name where each value was set: config.yaml, a --configfile (a profile's too), --config.
    given = workflow.config_settings
    files = config_files("config.yaml", given.configfiles)
    raise WorkflowError(f"{error}\n{where_to_fix(error.problems, files, given.config)}")


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
        from snakevision import gpus

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
