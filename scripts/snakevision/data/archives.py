"""What an archive must be (checksum, size), and its safe extraction."""

from __future__ import annotations

import errno
import fcntl
import gzip
import hashlib
import logging
import os
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from snakevision.files import MAKE_ROOM, no_room

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# flock's errors where the file system has no locks (NFS without lockd, Lustre mounted noflock).
NO_LOCKS = frozenset({errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP})


class DownloadError(RuntimeError):
    """An archive that could not be fetched, or is not the one the config names."""


class UnsafeArchiveError(ValueError):
    """An archive with a member that could escape the target folder."""


@dataclass(frozen=True)
class Expected:
    """What a verified file must be: its SHA-256 (archives) or MD5 (Keras' files), and size."""

    sha256: str | None = None
    size: int | None = None
    md5: str | None = None


def digest_of(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest (SHA-256 unless told otherwise) of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected: Expected) -> None:
    """Raise DownloadError unless path has the expected size and checksums."""
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        raise DownloadError(
            f"{path}: size {size} bytes, expected {expected.size} (truncated or wrong file; "
            "a mirror of other content needs its own size and sha256 in the config)"
        )
    for algorithm in ("sha256", "md5"):
        wanted = getattr(expected, algorithm)
        if wanted is not None and (actual := digest_of(path, algorithm)) != wanted:
            raise DownloadError(f"{path}: {algorithm} mismatch: expected {wanted}, actual {actual}")


def is_valid(path: Path, expected: Expected) -> bool:
    """Whether path exists with the expected size and checksum."""
    try:
        verify(path, expected)
    except (OSError, DownloadError):
        return False
    return True


def _check_member(member: tarfile.TarInfo) -> None:
    """Refuse a member that is a link, a device or would land outside the target folder."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise UnsafeArchiveError(f"member {member.name!r} would land outside the target folder")
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(
            f"member {member.name!r} is a link (to {member.linkname!r}); links are refused"
        )
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"member {member.name!r} is not a regular file or folder")


def extract(archive: Path, target: Path, top: str, expected: Expected | None = None) -> None:
    """Extract the folder `top` of a gzip or plain tar archive to target, atomically.

    With expected, the archive is verified first: one put in place by hand never went through
    download's checks, and a cut plain tar would extract without an error. Every member is
    checked before anything is written; the archive must hold `top/`.
    """
    archive, target = Path(archive), Path(target)
    if expected is not None:
        try:
            verify(archive, expected)
        except DownloadError as exc:
            raise DownloadError(
                f"{exc}. It is not the archive the config names: delete it and rerun to download "
                "it again, or fix the config's url, sha256 and size"
            ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    with _sole_extraction(target):
        _extract(archive, target, top)


@contextmanager
def _sole_extraction(target: Path) -> Iterator[None]:
    """Hold a lock on target's extraction for the whole of it, waiting for another holder.

    A job left running by a killed Snakemake would otherwise share the staging folder with
    the rerun's job, and each would move whatever the folder held when it finished.
    """
    with open(target.with_name(f".{target.name}.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another job is extracting into %s; waiting for it to end", target)
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in NO_LOCKS:
                raise
            log.warning(
                "cannot lock %s (%s: the file system offers no locks); extracting without one, "
                "so make sure no job of an earlier, killed run still extracts there",
                lock.name,
                exc.strerror,
            )
        yield


def _extract(archive: Path, target: Path, top: str) -> None:
    """Check every member, then extract into a staging folder moved to target at the end."""
    staging = target.with_name(f".{target.name}.extracting")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        # "r:*" detects gzip or plain tar from the content, whatever the file is called.
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            parts = [PurePosixPath(m.name).parts for m in members]
            if not any(
                p[:1] == (top,) and (len(p) > 1 or m.isdir()) for p, m in zip(parts, members)
            ):
                entries = sorted({p[0] for p in parts if p})  # "./" has no parts
                raise ValueError(
                    f"{archive}: no folder {top!r} in the archive (top-level entries: "
                    f"{entries}); is it the right file?"
                )
            _check_room(archive, members, target.parent)
            tar.extractall(staging, members=members, filter="data")
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        # A truncated or damaged gzip stream surfaces as EOFError, zlib.error or BadGzipFile,
        # not as TarError.
        if isinstance(exc, (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)):
            raise ValueError(
                f"{archive}: not a readable tar archive ({exc}); delete it and rerun"
            ) from exc
        if isinstance(exc, OSError) and (clearer := no_room(exc, target)):
            raise clearer from exc
        raise
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging / top, target)
    shutil.rmtree(staging, ignore_errors=True)


def _check_room(archive: Path, members: list[tarfile.TarInfo], folder: Path) -> None:
    """Fail before writing when the files would not fit beside folder's other contents."""
    needed = sum(m.size for m in members if m.isfile())
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise OSError(
            errno.ENOSPC,
            f"{archive} holds {needed / 2**20:,.1f} MB of files, but {folder} has "
            f"{free / 2**20:,.1f} MB free; {MAKE_ROOM}",
        )
