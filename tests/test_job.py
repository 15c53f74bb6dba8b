"""Tests for a rule job's setup: its log and the threads it uses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from snakevision.job import logfile
from workflow import REPO

SCRIPTS = REPO / "scripts"


def _start(
    tmp_path: Path, granted: int, cpus: int, slurm_cpus: str = "", onednn: str | None = None
) -> tuple[str, str]:
    """Run job.start in a process pinned to `cpus` CPUs: its threads, OMP_NUM_THREADS and
    TF_ENABLE_ONEDNN_OPTS; its log.

    slurm_cpus: SLURM_CPUS_PER_TASK, as SLURM sets it in a job ("": not in a SLURM job).
    onednn: TF_ENABLE_ONEDNN_OPTS as the user set it (None: unset).
    """
    log, result = tmp_path / "job.log", tmp_path / "result.txt"
    script = textwrap.dedent(f"""
        import os, sys
        from types import SimpleNamespace
        sys.path.insert(0, {str(SCRIPTS)!r})
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:{cpus}])
        from snakevision.job.setup import start
        smk = SimpleNamespace(
            input=[], output=[], params=SimpleNamespace(), wildcards={{}}, config={{}},
            threads={granted}, log=[{str(log)!r}], rule="arrays",
        )
        job = start(smk)
        # The job's stdout is its log now.
        open({str(result)!r}, "w").write(
            f"{{job.threads}} {{os.environ['OMP_NUM_THREADS']}} "
            f"{{os.environ['TF_ENABLE_ONEDNN_OPTS']}}"
        )
    """)
    unset = {"SLURM_CPUS_PER_TASK", "TF_ENABLE_ONEDNN_OPTS"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({"SLURM_CPUS_PER_TASK": slurm_cpus} if slurm_cpus else {})
    env.update({"TF_ENABLE_ONEDNN_OPTS": onednn} if onednn is not None else {})
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return result.read_text(), log.read_text()


def test_threads_beyond_the_usable_cpus_are_not_used(tmp_path: Path) -> None:
    # What `--cores 8` grants on a 2-core laptop, or a SLURM job allocated fewer CPUs.
    printed, log = _start(tmp_path, granted=8, cpus=1)
    assert printed == "1 1 1"
    assert "rule arrays: 1 thread(s) of 8 granted (1 CPU(s) usable)" in log


def test_threads_granted_within_the_cpus_are_used_as_granted(tmp_path: Path) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    printed, log = _start(tmp_path, granted=2, cpus=2)
    assert printed == "2 2 1"
    assert "rule arrays: 2 thread(s), backend -" in log


def test_a_slurm_job_uses_the_cpus_it_was_given_where_the_node_does_not_bind_them(
    tmp_path: Path,
) -> None:
    # SLURM without task binding (TaskPlugin=task/none) leaves the affinity at the whole node.
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    printed, log = _start(tmp_path, granted=8, cpus=2, slurm_cpus="1")
    assert printed == "1 1 1"
    assert "rule arrays: 1 thread(s) of 8 granted (1 CPU(s) usable)" in log


def test_jobs_use_onednn_kernels_unless_the_user_says_otherwise(tmp_path: Path) -> None:
    # TensorFlow leaves them off on AVX2-only CPUs, where they train 2x faster.
    printed, _ = _start(tmp_path, granted=1, cpus=1)
    assert printed.split()[2] == "1"
    printed, _ = _start(tmp_path, granted=1, cpus=1, onednn="0")
    assert printed.split()[2] == "0"


# A rule's job as a script runs it: job.start with a log and declared outputs, then `body`.
JOB = """
import os, sys
from types import SimpleNamespace
sys.path.insert(0, {scripts!r})
from snakevision.job.logfile import fail
from snakevision.job.setup import start
job = start(SimpleNamespace(
    input=[], output=[{output!r}], params=SimpleNamespace(), wildcards={{}}, config={{}},
    threads=1, log=[{log!r}], rule="train",
))
"""


def _job(tmp_path: Path, body: str, **env: str) -> subprocess.CompletedProcess:
    """Run a job whose log is tmp_path/job.log and whose one output is tmp_path/out."""
    script = JOB.format(
        scripts=str(SCRIPTS), output=str(tmp_path / "out"), log=str(tmp_path / "job.log")
    )
    environment = {k: v for k, v in os.environ.items() if k != "SNAKEVISION_TF_NOTICES"}
    return subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        env={**environment, **env},
        timeout=300,
    )


TENSORFLOW_JOB = """
print("before tensorflow")
import tensorflow as tf
print(tf.reduce_sum(tf.ones(3)).numpy())  # its first op looks for a GPU: cuInit's error 303
os.write(2, b"E0000 00:00:1.5   77 bfc_allocator.cc:1] a native line that is no notice\\n")
from snakevision.data.workers import process_pool
with process_pool(2) as pool:  # forked workers write to the same pipe
    list(pool.map(print, ["from a worker"]))
raise RuntimeError("the job fails")
"""
NOTICES = ["absl::InitializeLog()", "oneDNN custom operations", "cuda drivers", "cuInit"]


def test_tensorflow_start_up_notices_stay_out_of_the_log(tmp_path: Path) -> None:
    run = _job(tmp_path, TENSORFLOW_JOB)
    assert run.returncode == 1
    log = (tmp_path / "job.log").read_text()
    assert not [n for n in NOTICES if n in log + run.stdout + run.stderr], log
    lines = log.splitlines()
    # Every other line, native or Python, in the order written; the traceback at the end.
    order = ["before tensorflow", "3.0", "bfc_allocator.cc:1] a native line", "from a worker"]
    found = [next(i for i, line in enumerate(lines) if text in line) for text in order]
    assert found == sorted(found), log
    assert "Traceback (most recent call last)" in log
    assert lines[-1] == "RuntimeError: the job fails"


def test_tensorflow_start_up_notices_are_there_when_asked_for(tmp_path: Path) -> None:
    run = _job(tmp_path, TENSORFLOW_JOB, SNAKEVISION_TF_NOTICES="1")
    assert run.returncode == 1
    log = (tmp_path / "job.log").read_text()
    assert all(notice in log for notice in NOTICES), log
    assert "a native line that is no notice" in log and "from a worker" in log
    assert log.splitlines()[-1] == "RuntimeError: the job fails"


def test_fail_ends_the_log_with_its_message_and_no_traceback(tmp_path: Path) -> None:
    run = _job(tmp_path, 'fail("no archive. To fix: download it by hand")')
    assert run.returncode == 1
    log = (tmp_path / "job.log").read_text()
    last = log.splitlines()[-1]
    assert last.endswith("ERROR snakevision: no archive. To fix: download it by hand")
    assert "Traceback" not in log + run.stderr


def test_each_attempt_of_a_job_keeps_the_logs_of_those_before_until_one_succeeds(
    tmp_path: Path,
) -> None:
    log, kept = tmp_path / "job.log", tmp_path / ".job.log.attempts"
    killed = "print('attempt one', flush=True)\nos.kill(os.getpid(), 9)\n"
    assert _job(tmp_path, killed).returncode == -9
    assert kept.read_text() == log.read_text()  # a hard link, undeclared: Snakemake keeps it
    log.unlink()  # Snakemake deletes a job's log before it runs the job again
    assert _job(tmp_path, "raise SystemExit(2)").returncode == 2  # fails: the link stays
    log.unlink()
    succeeds = "print('attempt three')\nopen(job.output[0], 'w').write('done')\n"
    assert _job(tmp_path, succeeds).returncode == 0
    text = log.read_text()
    assert text.startswith("==== attempt 1 of this job (its log as it was) ====\n")
    headers = [line for line in text.splitlines() if line.startswith("==== attempt")]
    assert [h.split()[2] for h in headers] == ["1", "2", "3"]
    assert "the attempts above did not finish" in headers[2]
    assert text.index("attempt one") < text.index(headers[1]) < text.index("attempt three")
    assert logfile.last_attempt(text).strip().endswith("attempt three")
    assert not kept.exists()  # success: the next run's log starts afresh

    log.unlink()
    assert _job(tmp_path, succeeds).returncode == 0
    assert "==== attempt" not in log.read_text()
