"""Fetch an archive over HTTP(S) or from a file:// path: resumed, retried, verified.

Apart from archives.py, so that editing how archives are fetched reruns no extraction.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from snakevision import files
from snakevision.data.archives import CHUNK, DownloadError, Expected, is_valid, verify

log = logging.getLogger(__name__)


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


def kept_path(target: Path) -> Path:
    """The undeclared hard link to a verified file, beside it: a forced rerun reuses it.

    Snakemake deletes a job's outputs before the job runs; the link keeps the data (a 792 MB
    archive) for download() to put back, at no cost in disk space.
    """
    return target.with_name(f".{target.name}.verified")


def _keep(target: Path, expected: Expected) -> None:
    """Keep a hard link to target, a verified file (only one with a checksum is kept)."""
    if not (expected.sha256 or expected.md5):
        return
    kept = kept_path(target)
    try:
        if kept.exists() and os.path.samefile(kept, target):
            return
        files.link(target, kept)
    except OSError as exc:  # no hard links on this file system: a forced rerun fetches again
        log.info("cannot keep a link to %s (%s)", target, exc)


def _restore(target: Path, expected: Expected) -> bool:
    """Put back the verified file of an earlier download, if it is what expected says."""
    kept = kept_path(target)
    if not kept.exists() or not (expected.sha256 or expected.md5):
        return False
    if not is_valid(kept, expected):  # another file is asked for now: the old one goes
        kept.unlink()
        return False
    try:
        files.link(kept, target)
    except OSError as exc:
        log.info("cannot put back %s from %s (%s)", target, kept, exc)
        return False
    log.info(
        "%s: the verified file of an earlier download, kept as %s: not fetched again", target, kept
    )
    return True


def _unresolved(exc: Exception) -> socket.gaierror | None:
    """The name service's answer where the host of the url could not be resolved, else None."""
    reason = getattr(exc, "reason", None)
    return (
        reason
        if isinstance(exc, urllib.error.URLError) and isinstance(reason, socket.gaierror)
        else None
    )


def url_problem(url: str) -> str | None:
    """What makes url unusable for download(), or None: the config check asks before any job."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "it contains a space or control character (write a space as %20)"
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # parsed when read: a port that is no number, or out of range, raises
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


def _may_pass(exc: Exception, local: bool) -> bool:
    """Whether retrying can help: network trouble may pass, other errors will not.

    A client error (404, 403), a host name that does not resolve or a file:// path (local) that
    cannot be read fails at once instead of after minutes of backoff.
    """
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return not local and _unresolved(exc) is None


def retry_options(settings: dict[str, float]) -> dict[str, float]:
    """download()'s retry keywords from config's dataset.download section."""
    return {
        "retries": settings["retries"],
        "backoff": settings["backoff_seconds"],
        "timeout": settings["timeout_seconds"],
    }


def _archive_advice(url: str, target: Path, expected: Expected, local: bool) -> str:
    """What to do when an archive cannot be fetched: by hand, or from another copy."""
    if local:
        return "check the path, or set the archive's url to another copy"
    digest = expected.sha256 or expected.md5
    check = ""
    if digest:
        tool = "sha256sum" if expected.sha256 else "md5sum"
        check = f"; `{tool} {target}` must print {digest}"
    return (
        f"download it by hand (`curl -L -o {target} {url}`{check}), or set the archive's url to "
        "a mirror or a file:// path"
    )


def download(
    url: str,
    target: Path,
    expected: Expected,
    *,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    fix: str | None = None,
) -> None:
    """Fetch url to target via a temporary file, verify it, then rename it into place.

    An archive already at target with the right checksum is kept as it is, and so is one
    verified before (kept_path), which a forced rerun finds deleted. fix: what the error tells
    the user to do when the fetch fails for good; by default, the archive's advice.
    """
    target = Path(target)
    if is_valid(target, expected):
        log.info("%s is already present and valid: not fetched again", target)
        _keep(target, expected)
        return
    if _restore(target, expected):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    local = urllib.parse.urlsplit(url).scheme == "file"
    if _holds_everything(part, expected):
        log.info("%s already holds the whole, valid archive", part)
        os.replace(part, target)
        _keep(target, expected)
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
            if not _may_pass(exc, local) or attempt == retries:
                # The partial file stays: the next run resumes it, and verifies it in the end.
                advice = fix or _archive_advice(url, target, expected, local)
                if unresolved := _unresolved(exc):
                    host = urllib.parse.urlsplit(url).hostname
                    raise DownloadError(
                        f"could not download {url}: the host name {host} could not be resolved "
                        f"({unresolved.strerror}; not retried). To fix: check the host name in "
                        "the url; if it is right, this machine cannot look host names up "
                        f"(offline?): {advice}"
                    ) from exc
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
    _keep(target, expected)
    log.info("verified and saved %s", target)
