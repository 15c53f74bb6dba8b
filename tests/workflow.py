"""Helpers for tests that run the real snakemake CLI on a temporary copy of the workflow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PARTS = [
    "Snakefile",
    "config.yaml",
    "config.schema.yaml",
    "rules",
    "scripts",
    "envs",
    "profiles",
    "report",
]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
DEMO = ["--profile", "profiles/demo"]


def copy_workflow(target: Path) -> Path:
    """A fresh copy of the workflow's own files (no results, no .snakemake) in target."""
    target.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target


def write_config(path: Path, config: dict) -> Path:
    """Write a config override file."""
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: float = 1200
) -> subprocess.CompletedProcess:
    """Run snakemake in workdir; on failure with check, raise with its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    jobs, table = {}, False
    for line in output.splitlines():
        if line.startswith("job ") and "count" in line:
            table = True
            continue
        if table:
            match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if match and match.group(1) != "total":
                jobs[match.group(1)] = int(match.group(2))
            elif line.strip().startswith("total"):
                break
    return jobs


def demo_config(workdir: Path, name: str, override: dict) -> list[str]:
    """Dry-run arguments: the demo profile's config plus an override file."""
    path = write_config(workdir / name, override)
    return [*DEMO, "--configfile", "profiles/demo/demo.yaml", str(path.name), "--dry-run"]
