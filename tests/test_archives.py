"""Tests for extracting archives safely."""

from __future__ import annotations

import errno
import fcntl
import io
import logging
import os
import tarfile
import threading
import time
from pathlib import Path

import pytest
from snakevision.data import archives
from snakevision.data.archives import (
    DownloadError,
    Expected,
    UnsafeArchiveError,
    digest_of,
    extract,
)


def _names(folder: Path) -> list[str]:
    """What folder holds, but for the extractions' lock files."""
    return sorted(p.name for p in folder.iterdir() if p.suffix != ".lock")


def _write_tar(path: Path, entries: list[tarfile.TarInfo], mode: str = "w:gz") -> Path:
    """Write entries (regular files get their name as content) into a tar archive."""
    with tarfile.open(path, mode) as tar:
        for info in entries:
            data = info.name.encode() if info.isfile() else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


SAFE = [_entry("images", tarfile.DIRTYPE), _entry("images/a.jpg"), _entry("images/sub/b.png")]


@pytest.mark.parametrize("mode", ["w:gz", "w"])
def test_extract(tmp_path: Path, mode: str) -> None:
    # A plain tar named .tar.gz is read too: the format comes from the content.
    archive = _write_tar(tmp_path / "x.tar.gz", [*SAFE, _entry("other/c.txt")], mode)
    target = tmp_path / "out" / "images"
    target.parent.mkdir()
    (target / "stale").mkdir(parents=True)
    # What an extraction killed by SIGKILL leaves behind: its handler never ran.
    (target.parent / ".images.extracting" / "images").mkdir(parents=True)
    (target.parent / ".images.extracting" / "images" / "old.jpg").write_bytes(b"old")
    extract(archive, target, "images")
    assert (target / "a.jpg").read_bytes() == b"images/a.jpg"
    assert (target / "sub" / "b.png").read_bytes() == b"images/sub/b.png"
    assert _names(target) == ["a.jpg", "sub"]  # the old folder is replaced
    assert _names(target.parent) == ["images"]  # no staging folder, nothing from other/


def test_an_archive_of_the_right_size_but_other_content_is_refused(tmp_path: Path) -> None:
    # One put in place by hand never went through download's checks; its size may match.
    archive = _write_tar(tmp_path / "x.tar.gz", SAFE)
    expected = Expected(sha256="0" * 64, size=archive.stat().st_size)
    with pytest.raises(DownloadError, match=r"sha256 mismatch.*delete it and rerun"):
        extract(archive, tmp_path / "images", "images", expected)
    assert _names(tmp_path) == ["x.tar.gz"]
    extract(archive, tmp_path / "images", "images", Expected(digest_of(archive)))
    assert _names(tmp_path / "images") == ["a.jpg", "sub"]


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.EOPNOTSUPP])
def test_a_file_system_without_locks_extracts_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, code: int
) -> None:
    # What flock gives on NFS without lockd or Lustre mounted noflock; no such mount here.
    def no_locks(*_: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(archives.fcntl, "flock", no_locks)
    target = tmp_path / "images"
    with caplog.at_level(logging.WARNING, logger="snakevision.data.archives"):
        extract(_write_tar(tmp_path / "x.tar.gz", SAFE), target, "images")
    assert _names(target) == ["a.jpg", "sub"]
    assert "the file system offers no locks" in caplog.text
    assert "no job of an earlier, killed run still extracts there" in caplog.text


def test_a_second_extraction_waits_for_the_first(tmp_path: Path) -> None:
    # As a job left running by a killed Snakemake and the rerun's job would: one at a time,
    # not both moving a shared staging folder.
    archive = _write_tar(tmp_path / "x.tar.gz", SAFE)
    target = tmp_path / "out" / "images"
    target.parent.mkdir()
    with open(target.parent / ".images.lock", "w") as first:
        fcntl.flock(first, fcntl.LOCK_EX)
        second = threading.Thread(target=extract, args=(archive, target, "images"))
        second.start()
        time.sleep(0.5)
        assert second.is_alive() and not target.exists()
    second.join(timeout=30)
    assert _names(target) == ["a.jpg", "sub"]


def test_extracted_dataset_fixture(dataset) -> None:
    assert (dataset.images / "Abyssinian_1.jpg").is_file()
    assert (dataset.trimaps / "pug_3.png").is_file()
    assert _names(dataset.images.parent) == ["annotations", "images"]


@pytest.mark.parametrize(
    "bad",
    [
        _entry("images/../evil.txt"),
        _entry("/tmp/evil.txt"),
        _entry("images/link", tarfile.SYMTYPE, "/etc/passwd"),
        _entry("images/hard", tarfile.LNKTYPE, "images/a.jpg"),
        _entry("images/fifo", tarfile.FIFOTYPE),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink", "fifo"],
)
def test_unsafe_members_are_refused(tmp_path: Path, bad: tarfile.TarInfo) -> None:
    archive = _write_tar(tmp_path / "x.tar.gz", [*SAFE, bad])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafeArchiveError) as info:
        extract(archive, out / "images", "images")
    assert repr(bad.name) in str(info.value)
    assert _names(out) == []
    assert _names(tmp_path) == ["out", "x.tar.gz"]


@pytest.mark.parametrize(
    "entries",
    [
        [_entry("annotations/list.txt")],
        [_entry("./", tarfile.DIRTYPE), _entry("images"), _entry("annotations/list.txt")],
    ],
    ids=["other folder", "a file named images"],
)
def test_missing_top_folder_is_named(tmp_path: Path, entries) -> None:
    archive = _write_tar(tmp_path / "x.tar.gz", entries)
    with pytest.raises(ValueError, match=r"no folder 'images'.*entries: \[.*'annotations'"):
        extract(archive, tmp_path / "images", "images")
    assert _names(tmp_path) == ["x.tar.gz"]


def _damage(data: bytes, how: str) -> bytes:
    if how == "truncated":
        return data[: len(data) // 2]
    if how == "flipped":  # damage in the middle of the gzip stream
        middle = len(data) // 2
        return (
            data[:middle]
            + bytes(b ^ 0x55 for b in data[middle : middle + 2000])
            + data[middle + 2000 :]
        )
    return data[:20] + bytes(5000)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage"])
def test_corrupt_archive_keeps_the_old_target(dataset, tmp_path: Path, damage: str) -> None:
    broken = _damage(dataset.images_tar.read_bytes(), damage)
    archive = tmp_path / "images.tar.gz"
    archive.write_bytes(broken)
    target = tmp_path / "images"
    extract(_write_tar(tmp_path / "good.tar", SAFE, "w"), target, "images")
    with pytest.raises(ValueError, match=r"(?s)not a readable tar archive.*delete it and rerun"):
        extract(archive, target, "images")
    assert (target / "a.jpg").read_bytes() == b"images/a.jpg"
    assert _names(tmp_path) == ["good.tar", "images", "images.tar.gz"]
