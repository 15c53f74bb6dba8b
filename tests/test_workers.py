"""Tests for the decoding jobs' process pools."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from snakevision.data.workers import process_pool
from workflow import REPO

SCRIPTS = REPO / "scripts"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_end_when_their_job_is_killed(tmp_path: Path) -> None:
    # What the kernel's out-of-memory killer does to a job: SIGKILL, no cleanup of its own.
    job = tmp_path / "job.py"
    job.write_text(
        textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(SCRIPTS)!r})
            from snakevision.data.workers import process_pool
            with process_pool(2) as pool:
                futures = [pool.submit(time.sleep, 60) for _ in range(2)]
                time.sleep(0.5)
                print(*(p.pid for p in pool._processes.values()), flush=True)
                time.sleep(60)
        """)
    )
    proc = subprocess.Popen([sys.executable, str(job)], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = [pid for pid in workers if _alive(pid)]
    for pid in orphans:  # not to leave them to the rest of the session
        os.kill(pid, signal.SIGKILL)
    assert not orphans


def _killed(_: int) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_is_explained() -> None:
    with (
        pytest.raises(BrokenProcessPool, match="lack of memory.*mem_mb"),
        process_pool(2) as pool,
    ):
        list(pool.map(_killed, range(2)))
