"""TensorFlow's C++ start-up notices, dropped between a job's output and its log.

On a CPU machine every process that imports TensorFlow writes lines no setting silences (absl
writes them before its logging starts; TF_CPP_MIN_LOG_LEVEL cannot reach them): the oneDNN and
"no cuda drivers" notices, absl's own warning about them, and cuInit's error 303 (no driver).
job.start sends the job's file descriptors 1 and 2 through a pipe to a small process running
main(), which drops exactly those lines and writes every other byte to the log. A process, not
a thread: a job that dies at once (abort, SIGKILL, out of memory) still gets its last lines into
the log, which the process writes until every writer is gone. Stdlib only: it starts in
milliseconds as `python -I -S notices.py`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable

# Set to 1 to see the notices in the logs again (job.start then writes to the log directly).
KEEP = "SNAKEVISION_TF_NOTICES"

# absl's line header: severity, date (0000 before absl's logging starts), time, thread id.
_HEADER = rb"[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ "
NOTICE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|" + _HEADER + rb"(?:port\.cc:\d+\] oneDNN custom operations are on\. .*"
    rb"|cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be used\."
    # Error 303 is what cuInit answers without an NVIDIA driver; any other code is a real fault.
    rb"|cuda_platform\.cc:\d+\] failed call to cuInit: .*UNKNOWN ERROR \(303\))"
)
# Longer lines are none of the notices: they pass on without waiting for their end.
_LONGEST = 512


def is_notice(line: bytes) -> bool:
    """Whether line (without its line end) is one of TensorFlow's start-up notices."""
    return NOTICE.fullmatch(line.rstrip(b"\r\n")) is not None


# How the marker line that asks for an acknowledgement starts (a control character no text has).
MARK = b"\x1e"


class Filter:
    """Drops notice lines from a stream fed in pieces, passing every other byte on.

    A line is held back only while it may still turn out to be a notice (it starts as absl's
    lines do and is short): other output, a progress bar's partial line included, goes on at once.
    The line `marker` is not written: on_marker is called once everything before it is.
    """

    def __init__(
        self,
        write: Callable[[bytes], object],
        marker: bytes | None = None,
        on_marker: Callable[[], object] | None = None,
    ) -> None:
        self._write = write
        self._marker, self._on_marker = marker, on_marker
        self._held = b""  # the start of a line that may be a notice
        self._passing = False  # inside a line already passed on: the rest of it follows

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream."""
        out = []
        while data:
            if self._passing:
                end = data.find(b"\n") + 1
                if not end:
                    out.append(data)
                    break
                out.append(data[:end])
                data, self._passing = data[end:], False
                continue
            data = self._held + data
            end = data.find(b"\n") + 1
            if end:
                self._held, line, data = b"", data[:end], data[end:]
                if self._marker is not None and line == self._marker:
                    self._write(b"".join(out))
                    out = []
                    if self._on_marker:
                        self._on_marker()
                elif not is_notice(line):
                    out.append(line)
            elif data[:1] in (b"W", b"I", b"E", b"F", MARK) and len(data) <= _LONGEST:
                self._held = data
                break
            else:
                self._held, self._passing = b"", True
                out.append(data)
                break
        if out:
            self._write(b"".join(out))

    def close(self) -> None:
        """Pass on a last line that never ended, unless it is a notice."""
        if self._held and not is_notice(self._held):
            self._write(self._held)
        self._held = b""


def _writer(fd: int) -> Callable[[bytes], None]:
    """Write all of data to fd; a failed write (a full disk) is dropped, not fatal.

    The job must never find its output pipe closed: it would die of EPIPE over a log line.
    """
    warned = False

    def write(data: bytes) -> None:
        nonlocal warned
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            if not warned:
                warned = True
                with contextlib.suppress(OSError):  # stderr is the console
                    os.write(2, f"snakevision: cannot write the job's log ({exc})\n".encode())

    return write


def main(marker: bytes, ack: int) -> None:
    """Copy stdin to stdout without the notices, until every writer has closed the pipe.

    The line marker is answered with a byte on the file descriptor ack: the job waits for it
    at exit, so that its log is whole when Snakemake reads it, even while a process the job
    started still holds the pipe open.
    """
    # Ctrl-C and Snakemake's SIGTERM reach the job's whole process group: the job handles them,
    # and this process ends when the job's last output is written.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    write = _writer(1)

    def acknowledge() -> None:
        with contextlib.suppress(OSError):  # the job is gone
            os.write(ack, b".")

    lines: Filter | None = Filter(write, marker, acknowledge)
    while data := os.read(0, 1 << 16):
        try:
            lines.feed(data)
        except Exception:  # a bug here must not silence the job: copy the rest unfiltered
            lines = None
            write(data)
            while data := os.read(0, 1 << 16):
                write(data)
            break
    if lines is not None:
        lines.close()


if __name__ == "__main__":
    main(sys.argv[1].encode() + b"\n", int(sys.argv[2]))
