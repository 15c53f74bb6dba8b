"""The filter that keeps TensorFlow's start-up notices out of a job's log, fed in pieces."""

from __future__ import annotations

import pytest
from snakevision.job.notices import Filter, is_notice

# As TensorFlow 2.21 writes them on a CPU machine, before absl's logging starts.
NOTICES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796608556.975388   10971 port.cc:153] oneDNN custom operations are on. You may "
    b"see slightly different numerical results due to floating-point round-off errors from "
    b"different computation orders. To turn them off, set the environment variable "
    b"`TF_ENABLE_ONEDNN_OPTS=0`.\n",
    b"I0000 00:00:1796608556.975682   10971 cudart_stub.cc:31] Could not find cuda drivers on your "
    b"machine, GPU will not be used.\n",
    b"E0000 00:00:1796608569.570387   11226 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    b"CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
]
KEPT = [
    b"2026-12-07 02:02:38,848 INFO snakevision: rule train: 1 thread(s), backend -\n",
    # cuInit failing for another reason than a missing driver is a real fault.
    b"E0000 00:00:1796608569.570387   11226 cuda_platform.cc:52] failed call to cuInit: "
    b"CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (803)\n",
    b"W0000 00:00:1796608569.5   11226 bfc_allocator.cc:310] Allocator ran out of memory\n",
    b"I0000 00:00:1796608556.975388   10971 port.cc:153] oneDNN custom operations are on.\n",
    b"Epoch 1/3\n",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR, "
    b"and more\n",
    b"\n",
]


def _filtered(stream: bytes, piece: int) -> tuple[bytes, list[bytes]]:
    """What the filter writes when fed stream in pieces of `piece` bytes, and each write."""
    writes: list[bytes] = []
    lines = Filter(writes.append)
    for start in range(0, len(stream), piece):
        lines.feed(stream[start : start + piece])
    lines.close()
    return b"".join(writes), writes


@pytest.mark.parametrize("piece", [1, 7, 100, 1 << 16])
def test_only_the_notices_are_dropped_however_the_stream_is_cut(piece: int) -> None:
    stream = b"".join(line for pair in zip(KEPT, NOTICES * 2) for line in pair)
    written, _ = _filtered(stream, piece)
    assert written == b"".join(KEPT)
    assert all(is_notice(n) for n in NOTICES) and not any(is_notice(k) for k in KEPT)


def test_a_line_that_cannot_be_a_notice_is_passed_on_before_it_ends() -> None:
    # A progress bar's partial line appears in the log at once, not at its line's end.
    writes: list[bytes] = []
    lines = Filter(writes.append)
    lines.feed(b"12/50 [=====")
    assert writes == [b"12/50 [====="]
    lines.feed(b"===] loss: 0.4\nI0000 00:00:1.5   1 x.cc:1] held until its end")
    assert writes[-1] == b"===] loss: 0.4\n"
    lines.close()
    assert writes[-1] == b"I0000 00:00:1.5   1 x.cc:1] held until its end"


def test_the_marker_line_is_answered_once_everything_before_it_is_written() -> None:
    writes: list[bytes] = []
    seen: list[bytes] = []
    lines = Filter(writes.append, b"\x1eend 1234\n", lambda: seen.append(b"".join(writes)))
    lines.feed(b"last line\n" + NOTICES[0] + b"\x1eend 12")
    assert seen == []
    lines.feed(b"34\nafter\n")
    assert seen == [b"last line\n"] and b"".join(writes) == b"last line\nafter\n"
