"""Console lines of a job: progress of a long loop at each tenth, none for a short one."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from snakevision.data import arrays, pets, synthetic
from snakevision.job import console
from snakevision.job.console import Progress, duration


class Clock:
    """A clock that moves by `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def said() -> Iterator[Callable[[], list[str]]]:
    """What say() has written to the console so far, line by line, with a job's prefix."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    console.attach(write, "arrays_segmentation")
    lines: list[str] = []

    def so_far() -> list[str]:
        with contextlib.suppress(BlockingIOError):
            lines.extend(os.read(read, 1 << 16).decode().splitlines())
        return lines

    yield so_far
    console.attach(None, "")
    os.close(write)
    os.close(read)


def test_a_long_loop_says_each_tenth_with_the_time_left_then_its_end(said) -> None:
    # 20 items of 6 s each (the clock moves at each reading: one per item, one at the start).
    progress = Progress("train_images.npy", 20, "images", clock=Clock(6))
    for _ in range(20):
        progress.advance()
    lines = said()
    assert lines[0] == "[arrays_segmentation] train_images.npy: 10% (2/20 images), 1 min 48 s left"
    assert [line.split(": ")[1].split("%")[0] for line in lines[:-1]] == [
        str(p) for p in range(10, 100, 10)
    ]
    assert lines[4].endswith("50% (10/20 images), 1 min 00 s left")
    assert lines[-1] == "[arrays_segmentation] train_images.npy: all 20 images in 2 min 00 s"


def test_a_loop_of_under_a_minute_says_nothing(said) -> None:
    progress = Progress("index", 100, "pairs", clock=Clock(0.5))  # 50 s in all
    for _ in range(100):
        progress.advance()
    assert said() == []


def test_a_slow_start_alone_does_not_make_a_loop_long(said) -> None:
    # A first item slow to come (workers starting) projects 100 items to far over a minute.
    clock = Clock(0.1)
    progress = Progress("index", 100, "pairs", clock=clock)
    clock.now += 3  # 3 s for the first item: 300 s projected, but too soon to judge
    for _ in range(100):
        progress.advance()
    assert said() == []


def test_chunks_that_jump_several_tenths_report_the_last_one_reached(said) -> None:
    progress = Progress("val_masks.npy", 100, "masks", clock=Clock(30))
    for chunk in (32, 32, 32, 4):
        progress.advance(chunk)
    assert [line.split("] ")[1].split(" (")[0] for line in said()] == [
        "val_masks.npy: 30%",
        "val_masks.npy: 60%",
        "val_masks.npy: 90%",
        "val_masks.npy: all 100 masks in 2 min 00 s",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "0 s"), (59.4, "59 s"), (60, "1 min 00 s"), (3599, "59 min 59 s"), (7500, "2 h 05 min")],
)
def test_durations_read_as_a_person_says_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_decoding_and_checking_report_progress_when_long(
    said, dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = functools.partial(Progress, clock=Clock(100))  # each reading: 100 s later
    for module in (arrays, pets, synthetic):
        monkeypatch.setattr(module, "Progress", slow)
    images = sorted(str(p) for p in dataset.images.glob("*.jpg"))[:40]
    arrays.write_stack(images, tmp_path / "train_images.npy", "image", 16, workers=2)
    pets.build_index(dataset.images, dataset.trimaps, workers=2)
    synthetic.write_archives(
        tmp_path / "i.tar.gz",
        tmp_path / "a.tar.gz",
        images_per_breed=1,
        seed=0,
        min_side=48,
        max_side=64,
    )
    lines = said()
    for what in ("train_images.npy", "checking image/trimap pairs", "drawing synthetic pets"):
        mine = [line for line in lines if line.startswith(f"[arrays_segmentation] {what}: ")]
        assert len(mine) >= 2 and " all " in mine[-1], lines
