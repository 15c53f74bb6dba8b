"""Set up a rule's job from the `snakemake` object: log, backend, threads, GPU. Imports no Keras."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakevision.job import console, gpus, logfile

log = logging.getLogger("snakevision")


@dataclass
class Job:
    """What a rule script needs of the `snakemake` object."""

    input: Any
    output: Any
    params: Any
    wildcards: Any
    threads: int
    log: Any
    config: dict  # for what must not be a param: a param's change reruns the rule
    gpus: list[str] = field(default_factory=list)  # CUDA_VISIBLE_DEVICES ids it computes on


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity (a taskset, a bound SLURM job), else all.

    A SLURM cluster that does not bind tasks to CPUs leaves the affinity at the whole node;
    SLURM_CPUS_PER_TASK still says what the job was given.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    allocated = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return min(cpus, int(allocated)) if allocated.isdigit() and int(allocated) > 0 else cpus


def limit_threads(threads: int) -> None:
    """Keep numerical libraries within the threads Snakemake gave the job, on fast CPU kernels."""
    n = str(max(1, threads))
    # TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI, bf16 or
    # AMX; on an AVX2-only CPU they train our models 2.1 to 2.3x faster (bench/README.md).
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = n
    os.environ["TF_NUM_INTRAOP_THREADS"] = n
    os.environ["TF_NUM_INTEROP_THREADS"] = "1" if threads <= 2 else "2"
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={n}".strip()
        )


def gpus_asked(smk: Any) -> int:
    """The GPUs the job's rule asks for (`resources: gpu=N`; 0 where it names none)."""
    value = getattr(getattr(smk, "resources", None), "gpu", 0)
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        raise ValueError(f"rule {smk.rule}: resources gpu={value!r} is not a number") from None


def console_prefix(rule: str, wildcards: Any) -> str:
    """What a job's console lines start with: its rule and wildcards, the seed as its folder."""
    values = [f"seed_{v}" if k == "seed" else str(v) for k, v in dict(wildcards).items()]
    return " ".join([rule, "/".join(values)]) if values else rule


def start(smk: Any) -> Job:
    """Log to the rule's log, choose the Keras backend, threads and GPU before Keras loads."""
    # The stream the job was started with (Snakemake's console), before the log replaces it.
    terminal = os.dup(2)
    console.attach(terminal, console_prefix(smk.rule, getattr(smk, "wildcards", {})))
    if smk.log:
        outputs = [str(path) for path in getattr(smk, "output", [])]
        logfile.open_log(Path(str(smk.log[0])), outputs, terminal)
    backend = getattr(smk.params, "backend", None)
    if backend:
        os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    # `--cores 8` on a 2-core laptop grants 8 threads; workers beyond the CPUs only add
    # switching and memory (bench/README.md: 16 on 2 cores build arrays 1.5x slower in 5x RAM).
    cpus = usable_cpus()
    threads = max(1, min(smk.threads, cpus))
    limit_threads(threads)
    granted = f" of {smk.threads} granted ({cpus} CPU(s) usable)" if threads < smk.threads else ""
    log.info("rule %s: %d thread(s)%s, backend %s", smk.rule, threads, granted, backend or "-")
    # Every job, not only those asking for a GPU: an evaluation that sees the GPUs would
    # otherwise map their memory away from the trainings beside it.
    gpus.bound_memory()
    ids: list[str] = []
    asked = gpus_asked(smk)
    if asked:
        assignment = gpus.assign(asked)
        ids = assignment.ids
        log.info("rule %s: %s", smk.rule, assignment.message)
    return Job(smk.input, smk.output, smk.params, smk.wildcards, threads, smk.log, smk.config, ids)
