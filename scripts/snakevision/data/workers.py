"""Process pools for the decoding jobs, whose workers end with their job."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """Have Linux kill this worker when the job's process dies, even by SIGKILL.

    Otherwise workers of a job killed for lack of memory live on, blocked on their pipe,
    holding memory and the half-written output mapped.
    """
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: nothing to ask
        return
    if os.getppid() != parent:  # the job died before the request took effect
        os._exit(1)


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of max(1, workers) processes; a worker's death is explained."""
    with ProcessPoolExecutor(
        max(1, workers), initializer=_die_with, initargs=(os.getpid(),)
    ) as pool:
        try:
            yield pool
        except BrokenProcessPool as exc:
            raise BrokenProcessPool(
                f"{exc}: the system killed a worker process, most often for lack of memory; "
                "give the job more memory (resources: mem_mb) or fewer threads"
            ) from exc
