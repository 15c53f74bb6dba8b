"""The conda environment for `--sdm conda` pins what requirements.txt pins, version for version."""

import re

import yaml
from workflow import REPO

# Not needed inside a job: Snakemake itself, its cluster plugin, test and style tools.
WORKFLOW_ONLY = {"snakemake", "snakemake-executor-plugin-slurm", "pytest", "pytest-timeout"}
WORKFLOW_ONLY |= {"ruff", "snakefmt"}


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            found[name.lower()] = version
    return found


def test_conda_environment_matches_requirements() -> None:
    requirements = pins((REPO / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((REPO / "envs/snakevision.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert pins(pip) == {k: v for k, v in requirements.items() if k not in WORKFLOW_ONLY}
    assert python == "python=3.11"
