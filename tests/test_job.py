"""Tests for a rule job's setup: its log and the threads it uses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from workflow import REPO

SCRIPTS = REPO / "scripts"


def _start(tmp_path: Path, granted: int, cpus: int, slurm_cpus: str = "") -> tuple[str, str]:
    """Run job.start in a process pinned to `cpus` CPUs: its threads, OMP_NUM_THREADS; its log.

    slurm_cpus: SLURM_CPUS_PER_TASK, as SLURM sets it in a job ("": not in a SLURM job).
    """
    log, result = tmp_path / "job.log", tmp_path / "result.txt"
    script = textwrap.dedent(f"""
        import os, sys
        from types import SimpleNamespace
        sys.path.insert(0, {str(SCRIPTS)!r})
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:{cpus}])
        from snakevision.job import start
        smk = SimpleNamespace(
            input=[], output=[], params=SimpleNamespace(), wildcards={{}}, config={{}},
            threads={granted}, log=[{str(log)!r}], rule="arrays",
        )
        job = start(smk)
        # The job's stdout is its log now.
        open({str(result)!r}, "w").write(f"{{job.threads}} {{os.environ['OMP_NUM_THREADS']}}")
    """)
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CPUS_PER_TASK"}
    env.update({"SLURM_CPUS_PER_TASK": slurm_cpus} if slurm_cpus else {})
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return result.read_text(), log.read_text()


def test_threads_beyond_the_usable_cpus_are_not_used(tmp_path: Path) -> None:
    # What `--cores 8` grants on a 2-core laptop, or a SLURM job allocated fewer CPUs.
    printed, log = _start(tmp_path, granted=8, cpus=1)
    assert printed == "1 1"
    assert "rule arrays: 1 thread(s) of 8 granted (1 CPU(s) usable)" in log


def test_threads_granted_within_the_cpus_are_used_as_granted(tmp_path: Path) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    printed, log = _start(tmp_path, granted=2, cpus=2)
    assert printed == "2 2"
    assert "rule arrays: 2 thread(s), backend -" in log


def test_a_slurm_job_uses_the_cpus_it_was_given_where_the_node_does_not_bind_them(
    tmp_path: Path,
) -> None:
    # SLURM without task binding (TaskPlugin=task/none) leaves the affinity at the whole node.
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    printed, log = _start(tmp_path, granted=8, cpus=2, slurm_cpus="1")
    assert printed == "1 1"
    assert "rule arrays: 1 thread(s) of 8 granted (1 CPU(s) usable)" in log
