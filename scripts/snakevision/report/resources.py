"""Where the time and memory went: every job's Snakemake benchmark in one table and one figure."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from snakevision.figures import figure

COLUMNS = ["rule", "wildcards", "wall_s", "cpu_s", "max_rss_mb", "benchmark"]
# Snakemake's benchmark columns: wall seconds, CPU seconds, peak resident set size in MB.
BENCHMARK_COLUMNS = {"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "max_rss_mb"}
# Columns Snakemake samples from the job's processes (about once a second) rather than times:
# a job that ends before a sample, or is sampled before it has run, records NA, '-' or 0. None
# of these is a measurement (every job takes memory and CPU time): they count as unknown.
SAMPLED = ("cpu_s", "max_rss_mb")

# How unknown values are marked, and why they are unknown.
NOT_SAMPLED = {"fontsize": 7, "color": "#666666"}
UNKNOWN_NOTE = (
    "Not sampled: Snakemake samples a job's CPU time and memory about once a second, and a job "
    "that ended before a sample (or was sampled before it ran) has no value: unknown, not zero."
)


def job_of(path: str, patterns: Mapping[str, str]) -> tuple[str, str] | None:
    """The rule whose benchmark regex matches path and its wildcards ("name=value,..."), or None.

    patterns: rule -> the regex of its benchmark file (Snakemake's, constraints included). None
    for a file no rule of this run writes: left by a rule since renamed, or by a model or
    setting no longer configured.
    """
    for rule, pattern in patterns.items():
        if match := re.match(pattern, path):
            return rule, ",".join(f"{k}={v}" for k, v in match.groupdict().items())
    return None


def read_benchmark(path: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one benchmark file (mean over repeats).

    A sampled value that was not measured (NA, '-' or 0) is NaN: unknown, not zero.
    """
    table = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
    found = {}
    for old, new in BENCHMARK_COLUMNS.items():
        values = pd.to_numeric(table[old], errors="coerce")
        if new in SAMPLED:
            values = values.where(values > 0)
        found[new] = float(values.mean())  # NaN where no repeat was measured
    return found


def gather(
    files: Iterable[str | os.PathLike[str]],
    patterns: Mapping[str, str],
    skip: Iterable[str] = (),
    unknown: list[str] | None = None,
) -> pd.DataFrame:
    """One row per benchmark file: rule, wildcards, wall_s, cpu_s, max_rss_mb, benchmark.

    Paths are as given (relative to the working directory, like the rules' patterns); rules in
    skip (the gathering job itself, whose benchmark is written after it runs) are left out, and
    so are files no rule writes, appended to unknown. Sorted slowest first.
    """
    skip, rows = set(skip), []
    for path in sorted(map(str, files)):
        job = job_of(path, patterns)
        if job is None:
            if unknown is not None:
                unknown.append(path)
            continue
        rule, wildcards = job
        if rule not in skip:
            rows.append({"rule": rule, "wildcards": wildcards, **read_benchmark(Path(path))})
            rows[-1]["benchmark"] = path
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("wall_s", ascending=False, kind="stable").reset_index(drop=True)


def job_label(rule: str, wildcards: str) -> str:
    """How a job is named in the figure: its rule and its wildcards' values."""
    values = [part.partition("=")[2] for part in wildcards.split(",") if part]
    return f"{rule} {' '.join(values)}".strip()


def chart(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Wall time (CPU time inside it) and peak memory per job, slowest job at the top.

    Sampled values that are unknown (jobs that ended before a sample) are never drawn as zero:
    each is marked 'not sampled' in its row, the titles count them and a note says why.
    """
    frame = frame.sort_values("wall_s", ascending=True, kind="stable")  # barh draws bottom-up
    labels = [job_label(r, w) for r, w in zip(frame["rule"], frame["wildcards"])]
    y = np.arange(len(frame))
    total = frame["wall_s"].sum()
    cpu_unknown = frame["cpu_s"].isna().to_numpy()
    memory_unknown = frame["max_rss_mb"].isna().to_numpy()
    with figure(path, figsize=(11, 1.8 + 0.28 * len(frame))) as fig:
        time_ax, memory_ax = fig.subplots(1, 2, sharey=True)
        time_ax.barh(y, frame["wall_s"], color="#1f77b4", label="wall time")
        known = ~cpu_unknown
        time_ax.barh(y[known], frame["cpu_s"][known], height=0.4, color="#ff7f0e", label="CPU time")
        for row, wall in zip(y[cpu_unknown], frame["wall_s"][cpu_unknown]):
            time_ax.text(wall, row, " CPU time not sampled", va="center", **NOT_SAMPLED)
        time_ax.set_yticks(y, labels, fontsize=8)
        time_ax.set_xlabel("seconds")
        time_ax.set_title(
            f"Time per job ({len(frame)} jobs, {total:,.0f} s of wall time)"
            + _unknown_note(int(cpu_unknown.sum()), "CPU time")
        )
        time_ax.legend(loc="lower right", fontsize=8)
        known = ~memory_unknown
        memory_ax.barh(y[known], frame["max_rss_mb"][known], color="#2ca02c")
        for row in y[memory_unknown]:
            memory_ax.text(0, row, " not sampled", va="center", **NOT_SAMPLED)
        memory_ax.set_xlabel("MB")
        memory_ax.set_title(
            "Peak memory (resident set)" + _unknown_note(int(memory_unknown.sum()), "")
        )
        for ax in (time_ax, memory_ax):
            ax.grid(axis="x", alpha=0.3)
            ax.set_ylim(-0.6, len(frame) - 0.4)
        fig.tight_layout()
        if cpu_unknown.any() or memory_unknown.any():
            fig.text(0.01, 0, UNKNOWN_NOTE, va="top", fontsize=8, color=NOT_SAMPLED["color"])


def _unknown_note(count: int, what: str) -> str:
    """A title's second line counting the jobs whose value was not sampled."""
    if not count:
        return ""
    jobs = "1 job" if count == 1 else f"{count} jobs"
    return f"\n({what + ' ' if what else ''}not sampled for {jobs})"
