"""A job's log file: the log of every attempt kept, TensorFlow's start-up notices left out.

Snakemake deletes a job's log before it runs the job, a retry or a rerun after a kill too. So
while a job runs, a hard link to its log is kept under an undeclared name beside it; the next
attempt's log begins with that text, and a job that succeeds removes the link.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from snakevision import files
from snakevision.job import notices

# Each attempt's log starts with such a line, but for a first attempt, which starts the file.
ATTEMPT = re.compile(r"^==== attempt (\d+) of this job\b.*$", re.MULTILINE)
_FIRST = "==== attempt 1 of this job (its log as it was) ===="
_NEXT = "==== attempt {n} of this job, started {when}; the attempts above did not finish ===="
# How long the job waits at exit for the filter to have written everything to the log.
_ACK_SECONDS = 30


def kept_path(log: Path) -> Path:
    """The undeclared name of the link to a job's log, kept until the job succeeds."""
    return log.with_name(f".{log.name}.attempts")


def last_attempt(text: str) -> str:
    """The part of a log that the latest attempt wrote (the whole log if it was the first)."""
    starts = list(ATTEMPT.finditer(text))
    return text[starts[-1].end() :] if starts else text


def carry_attempts(log: Path) -> str | None:
    """Start log with the logs of earlier attempts that did not finish; keep a link to it.

    Returns a warning for the log where the link cannot be made (no hard links there).
    """
    kept = kept_path(log)
    try:
        same = os.path.samefile(kept, log)
    except OSError:
        same = False
    earlier = kept.read_bytes() if kept.exists() else b""
    if earlier.strip():
        text = earlier.decode(errors="replace")
        count = len(ATTEMPT.findall(text)) or 1
        first = "" if ATTEMPT.search(text) or same else _FIRST + "\n"
        new = _NEXT.format(n=count + 1, when=time.strftime("%Y-%m-%d %H:%M:%S"))
        with open(log, "ab") as out:
            if not same:  # Snakemake deleted the log: the link holds the earlier attempts
                out.write(first.encode() + earlier)
            out.write(("" if earlier.endswith(b"\n") else "\n").encode() + new.encode() + b"\n")
    log.touch()
    if same:
        return None
    try:
        files.link(log, kept)
    except OSError as exc:
        kept.unlink(missing_ok=True)
        return (
            f"cannot keep a link to {log} as {kept} ({exc}): a rerun's log will not hold this one"
        )
    return None


class _Exit:
    """What the job's exit does: wait for the filter, and drop the link of a job that succeeded."""

    def __init__(self, log: Path, outputs: Sequence[str]) -> None:
        self.log, self.outputs = log, list(outputs)
        self.pid = os.getpid()  # a forked child that exits through Python must not act for it
        self.failed = False
        self.log_fd = -1
        self.filter: subprocess.Popen | None = None
        self.marker = b""
        self.ack = -1

    def excepthook(self, *args: object) -> None:
        self.failed = True
        _previous_excepthook(*args)

    def __call__(self) -> None:
        if os.getpid() != self.pid:
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        if self.filter is not None:
            self._drain()
        if not self.failed and all(os.path.exists(path) for path in self.outputs):
            with contextlib.suppress(OSError):
                if os.path.samefile(kept_path(self.log), self.log):
                    kept_path(self.log).unlink()

    def _drain(self) -> None:
        """Have the filter write all output so far to the log; later output goes there directly."""
        with contextlib.suppress(OSError):
            os.write(1, self.marker)
        # This process's last write ends of the pipe: the filter ends once no child holds one.
        os.dup2(self.log_fd, 1)
        os.dup2(self.log_fd, 2)
        deadline = time.monotonic() + _ACK_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                ready, _, _ = select.select([self.ack], [], [], left)
            except InterruptedError:
                continue
            # A byte: everything before the marker is written. End of file: the filter is gone.
            if ready:
                os.read(self.ack, 1)
            break


_previous_excepthook = sys.excepthook
_exit: _Exit | None = None


def fail(message: object) -> None:
    """End the job with message as its last log line, without a traceback."""
    if _exit is not None:
        _exit.failed = True
    logging.getLogger("snakevision").error("%s", message)
    raise SystemExit(1)


def open_log(log: Path, outputs: Sequence[str], console: int | None) -> None:
    """Send stdout, stderr (native output included) and logging to log, line by line.

    Earlier attempts' logs come first (carry_attempts). Unless SNAKEVISION_TF_NOTICES=1, the
    output passes through the notices filter (notices.py), whose own errors go to console.
    """
    global _exit
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    warning = carry_attempts(log)
    _exit = _Exit(log, outputs)
    _exit.log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    if os.environ.get(notices.KEEP, "") in ("", "0"):
        _start_filter(_exit, console)
    if _exit.filter is None:
        os.dup2(_exit.log_fd, 1)  # native libraries (TensorFlow, XLA) write to fd 1 and 2
        os.dup2(_exit.log_fd, 2)
    # Python writes through fd 1 as well, so that its lines and native ones keep their order.
    stream = os.fdopen(
        1, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
    )
    sys.stdout = sys.stderr = stream
    logging.basicConfig(
        stream=stream,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    sys.excepthook = _exit.excepthook
    atexit.register(_exit)
    if warning:
        logging.getLogger("snakevision").warning("%s", warning)


def _start_filter(state: _Exit, console: int | None) -> None:
    """Route fds 1 and 2 through a pipe to the notices filter, which writes to the log."""
    read, write = os.pipe()
    ack_read, ack_write = os.pipe()
    state.marker = notices.MARK + b"snakevision end of output " + secrets.token_hex(8).encode()
    try:
        state.filter = subprocess.Popen(
            [sys.executable, "-I", "-S", notices.__file__, state.marker.decode(), str(ack_write)],
            stdin=read,
            stdout=state.log_fd,
            stderr=console if console is not None else subprocess.DEVNULL,
            pass_fds=(ack_write,),
        )
    except OSError:  # no interpreter to start: the log gets the notices too
        for fd in (read, write, ack_read, ack_write):
            os.close(fd)
        return
    state.marker += b"\n"
    state.ack = ack_read
    for fd in (read, ack_write):
        os.close(fd)
    os.dup2(write, 1)
    os.dup2(write, 2)
    os.close(write)
