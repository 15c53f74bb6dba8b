"""Lines for the console Snakemake shows, beside the job's log: progress a user watches live.

A job's stdout and stderr go to its log file (job.start). say() also writes to the stream the
job was started with, where Snakemake's own messages appear, one prefixed line per call, so
that the lines of jobs running side by side stay readable. Progress reports a long loop there.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
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


def duration(seconds: float) -> str:
    """A time span as a person reads it: '45 s', '3 min 20 s', '2 h 05 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Console lines for a long loop: at each tenth of it, and its end, once it looks long.

    A loop projected to take more than `quiet` seconds (judged once a tenth of them has passed,
    so that a slow first item does not count for all) says how far it is and the time left at
    each 10% step, then how long it took; a shorter one says nothing (the demo's jobs).
    """

    def __init__(
        self,
        what: str,
        total: int,
        unit: str = "items",
        *,
        quiet: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.quiet, self.clock = quiet, clock
        self.started = clock()
        self.done = 0
        self.loud = False  # projected past `quiet`: report
        self.reported = 0  # the last step reported, in percent

    def advance(self, count: int = 1) -> None:
        """Count count more items done."""
        self.done += count
        if self.total <= 0:
            return
        elapsed = self.clock() - self.started
        if not self.loud and self.done and elapsed >= self.quiet / 10:
            self.loud = elapsed * self.total / self.done > self.quiet
        if not self.loud:
            return
        if self.done >= self.total:
            if self.reported < 100:
                self.reported = 100
                say(f"{self.what}: all {self.total} {self.unit} in {duration(elapsed)}")
            return
        step = 100 * self.done // self.total // 10 * 10
        if step > self.reported:
            self.reported = step
            left = elapsed * (self.total - self.done) / self.done
            say(
                f"{self.what}: {step}% ({self.done}/{self.total} {self.unit}), "
                f"{duration(left)} left"
            )
