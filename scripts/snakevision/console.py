"""Lines for the console Snakemake shows, beside the job's log: progress a user watches live.

A job's stdout and stderr go to its log file (job.start). say() also writes to the stream the
job was started with, where Snakemake's own messages appear, one prefixed line per call, so
that the lines of jobs running side by side stay readable.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress

log = logging.getLogger("snakevision")

_console: int | None = None  # a file descriptor of the stream the job was started with
_prefix = ""


def attach(fd: int | None, prefix: str) -> None:
    """Send say()'s lines to fd (None: to the log alone), each starting with [prefix]."""
    global _console, _prefix
    _console, _prefix = fd, prefix


def say(message: str) -> None:
    """Log message, and show it on the console as one line: '[prefix] message'."""
    log.info("%s", message)
    if _console is None:
        return
    line = f"[{_prefix}] {message}\n" if _prefix else f"{message}\n"
    # One write of a short line: lines of parallel jobs on one pipe never interleave. A
    # console that is gone (a closed terminal) leaves the line in the log alone.
    with suppress(OSError):
        os.write(_console, line.encode())
