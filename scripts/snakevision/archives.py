"""Fetch, verify and safely extract the dataset archives."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that failed for good (after retries, or with the wrong content)."""


class UnsafeArchiveError(ValueError):
    """An archive with a member that could escape the target folder."""


@dataclass(frozen=True)
class Expected:
    """What a verified archive must be: its SHA-256 and, if known, its size in bytes."""

    sha256: str
    size: int | None = None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected: Expected) -> None:
    """Raise DownloadError unless path has the expected size and checksum."""
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        raise DownloadError(
            f"{path}: size {size} bytes, expected {expected.size} (truncated or wrong file; "
            "a mirror of other content needs its own size and sha256 in the config)"
        )
    actual = sha256_of(path)
    if actual != expected.sha256:
        raise DownloadError(f"{path}: sha256 mismatch: expected {expected.sha256}, actual {actual}")


def is_valid(path: Path, expected: Expected) -> bool:
    """Whether path exists with the expected size and checksum."""
    try:
        verify(path, expected)
    except (OSError, DownloadError):
        return False
    return True


def _fetch_once(url: str, part: Path, timeout: float, size: int | None) -> None:
    """Fetch url into part, resuming from part's size where the server allows ranges.

    size (bytes, if known) tells a transfer cut short from a finished one when the server
    sends no Content-Length.
    """
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "snakevision"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing past `have`: part may be whole; verify decides
            exc.close()
            log.info("%s: the server has no bytes past %d", url, have)
            return
        raise
    with response:
        resumed = have and getattr(response, "status", 200) == 206
        if resumed and not response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
            part.unlink()
            raise urllib.error.URLError(
                f"asked for bytes {have}- but got {response.headers.get('Content-Range')!r}; "
                "starting over"
            )
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length else size
        if size is not None and total != size:  # say so now, not after the whole transfer
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url} holds {total} bytes, but the archive must have {size}: is the url right "
                "(images and annotations swapped?), or the size in the config?"
            )
        done, last_report = have, 0.0
        # Unbuffered: a full disk must fail in write() below, not in close(), which would take
        # it for a network error; a raw write may write part of a chunk, hence the loop.
        with open(part, "ab" if resumed else "wb", buffering=0) as out:
            while chunk := response.read(CHUNK):
                try:
                    rest = memoryview(chunk)
                    while rest:
                        rest = rest[out.write(rest) :]
                except OSError as exc:  # a full disk is no network error: retrying won't help
                    raise DownloadError(
                        f"cannot write {part} ({exc}); free disk space or move resources/ "
                        "to a larger disk, then rerun: the download resumes where it stopped"
                    ) from exc
                done += len(chunk)
                if time.monotonic() - last_report > 5:
                    last_report = time.monotonic()
                    share = f" ({100 * done / total:.1f}%)" if total else ""
                    log.info("%s: %d bytes%s", url, done, share)
        if total is not None and done < total:
            raise urllib.error.URLError(f"connection closed after {done} of {total} bytes")
    log.info("%s: %d bytes received", url, done)


def _holds_everything(part: Path, expected: Expected) -> bool:
    """Whether a part file left by an earlier run is the whole archive already.

    A run stopped between the last byte and the rename leaves one. A part of the full size or
    longer that is not the archive is deleted: resuming it could never succeed.
    """
    if expected.size is None or not part.exists() or part.stat().st_size < expected.size:
        return False
    if is_valid(part, expected):
        return True
    log.warning("%s is not the expected archive: fetching it afresh", part)
    part.unlink()
    return False


def url_problem(url: str) -> str | None:
    """What makes url unusable for download(), or None: checked before any attempt."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "it contains a space or control character (write a space as %20)"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is no number or out of range
    except ValueError as exc:
        return f"it cannot be parsed: {exc}"
    if parts.scheme in ("http", "https"):
        return None if parts.hostname else "it names no host"
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return (
                f"a file:// URL takes no host (here {parts.netloc!r}): write file:///absolute/path"
            )
        return None if parts.path not in ("", "/") else "it names no file"
    return f"its scheme {parts.scheme!r} is none of http, https, file"


def _may_pass(url: str, exc: Exception) -> bool:
    """Whether retrying can help: network trouble may pass, other errors will not.

    A client error (404, 403) or a file:// path that cannot be read fails at once instead of
    after minutes of backoff.
    """
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    if isinstance(exc, (ValueError, http.client.InvalidURL)):  # a malformed URL or header
        return False
    return urllib.parse.urlsplit(url).scheme != "file"


def download(
    url: str,
    target: Path,
    expected: Expected,
    *,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
) -> None:
    """Fetch url to target via a temporary file, verify it, then rename it into place.

    An archive already at target with the right checksum is kept as it is.
    """
    if problem := url_problem(url):
        raise DownloadError(f"cannot download {url!r}: {problem}")
    target = Path(target)
    if is_valid(target, expected):
        log.info("%s is already present and valid: not fetched again", target)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    if _holds_everything(part, expected):
        log.info("%s already holds the whole, valid archive", part)
        os.replace(part, target)
        return
    for attempt in range(1, retries + 1):
        try:
            log.info("fetching %s (attempt %d of %d)", url, attempt, retries)
            _fetch_once(url, part, timeout, expected.size)
            break
        except (
            OSError,
            ValueError,
            http.client.HTTPException,
        ) as exc:  # URLError is an OSError
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()  # its connection, which nothing else reads
            if not _may_pass(url, exc) or attempt == retries:
                # The partial file stays: the next run resumes it, and verifies it in the end.
                if urllib.parse.urlsplit(url).scheme == "file":
                    advice = "check the path, or set the archive's url to another copy"
                else:
                    advice = (
                        f"download it by hand (`curl -L -o {target} {url}`; `sha256sum {target}` "
                        f"must print {expected.sha256}), or set the archive's url to a mirror or "
                        "a file:// path"
                    )
                raise DownloadError(
                    f"could not download {url} after {attempt} attempt(s): {exc}. To fix: {advice}"
                ) from exc
            log.warning("attempt %d failed: %s", attempt, exc)
            time.sleep(backoff * 2 ** (attempt - 1))
    try:
        verify(part, expected)
    except DownloadError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"downloaded {url} but it is not the expected archive: {exc}") from exc
    os.replace(part, target)
    log.info("verified and saved %s", target)


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


def _check_layout(members: list[tarfile.TarInfo]) -> None:
    """Refuse names no file system can hold as given, before anything is written."""
    kinds: dict[tuple[str, ...], str] = {}  # path parts -> "file" or "folder"
    for member in members:
        name, parts = member.name, PurePosixPath(member.name).parts
        kind = "folder" if member.isdir() else "file"
        if "\0" in name:
            problem = "holds a NUL character, where its name would be cut short"
        elif not parts and not member.isdir():
            problem = "is a file without a name"
        elif any(len(part.encode()) > 255 for part in parts):
            problem = "has a path part longer than 255 bytes"
        elif any(kinds.get(parts[:i]) == "file" for i in range(1, len(parts))):
            problem = "lies inside a file of the archive"
        elif kinds.get(parts, kind) != kind:
            problem = "is both a file and a folder in the archive"
        else:
            kinds.update({parts[:i]: "folder" for i in range(1, len(parts))})
            kinds[parts] = kind
            continue
        raise ValueError(f"member {name!r} {problem}; the archive is damaged or not the right one")


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
    staging = target.with_name(f".{target.name}.extracting")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        # "r:*" detects gzip or plain tar from the content, whatever the file is called.
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            _check_layout(members)
            parts = [PurePosixPath(m.name).parts for m in members]
            if not any(
                p[:1] == (top,) and (len(p) > 1 or m.isdir()) for p, m in zip(parts, members)
            ):
                entries = sorted({p[0] for p in parts if p})  # "./" has no parts
                raise ValueError(
                    f"{archive}: no folder {top!r} in the archive (top-level entries: "
                    f"{entries}); is it the right file?"
                )
            tar.extractall(staging, members=members, filter="data")
    # A truncated or damaged gzip stream surfaces as EOFError, zlib.error or BadGzipFile,
    # not as TarError.
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ValueError(
            f"{archive}: not a readable tar archive ({exc}); delete it and rerun"
        ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging / top, target)
    shutil.rmtree(staging, ignore_errors=True)
