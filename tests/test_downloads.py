"""Tests for downloading and verifying archives (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import logging
import random
import time
from pathlib import Path

import pytest
from snakevision.data.archives import DownloadError, Expected, is_valid, verify
from snakevision.data.downloads import download, kept_path, url_problem

PAYLOAD = random.Random(0).randbytes(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
GOOD = Expected(SHA, len(PAYLOAD))
PATH = "/pets/images.tar.gz"


def _fetch(server, target: Path, expected: Expected = GOOD, retries: int = 3) -> None:
    download(server.url(PATH), target, expected, retries=retries, backoff=0, timeout=5)


def _names(folder: Path) -> list[str]:
    """The files in folder but the hard links kept of verified files (see the tests below)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".verified"))


@pytest.fixture
def served(http_server):
    http_server.files[PATH] = PAYLOAD
    return http_server


def test_download(served, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "sub" / "images.tar.gz"
    with caplog.at_level(logging.INFO, logger="snakevision.data.downloads"):
        _fetch(served, target)
    assert target.read_bytes() == PAYLOAD
    assert _names(target.parent) == ["images.tar.gz"]
    assert len(served.requests) == 1
    assert "attempt 1 of 3" in caplog.text
    assert verify(target, GOOD) is None and is_valid(target, GOOD)
    assert not is_valid(tmp_path / "missing", GOOD)


def test_wrong_checksum_leaves_nothing(served, tmp_path: Path) -> None:
    wrong = "0" * 64
    with pytest.raises(DownloadError) as info:
        _fetch(served, tmp_path / "a.tar.gz", Expected(wrong, len(PAYLOAD)))
    message = str(info.value)
    assert wrong in message and SHA in message and served.url(PATH) in message
    assert _names(tmp_path) == []


def test_files_known_by_md5_are_verified_by_it(served, tmp_path: Path) -> None:
    # Keras' files (the ImageNet Xception's weights, its class index) publish an MD5 only.
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    _fetch(served, tmp_path / "weights.h5", Expected(md5=md5))
    assert (tmp_path / "weights.h5").read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match=f"md5 mismatch: expected {'0' * 32}, actual {md5}"):
        _fetch(served, tmp_path / "other.h5", Expected(md5="0" * 32))
    assert _names(tmp_path) == ["weights.h5"]
    url = served.url("/nothing.h5")
    with pytest.raises(DownloadError, match=f"`md5sum .*` must print {md5}"):
        download(url, tmp_path / "x.h5", Expected(md5=md5), retries=1, backoff=0, timeout=5)


def test_wrong_size_is_named_before_the_transfer(served, tmp_path: Path) -> None:
    # From the Content-Length: a swapped url would otherwise fetch the whole wrong archive.
    with pytest.raises(
        DownloadError, match=rf"holds {len(PAYLOAD)} bytes, but the archive must have "
    ):
        _fetch(served, tmp_path / "a.tar.gz", Expected(SHA, len(PAYLOAD) + 1))
    assert _names(tmp_path) == [] and len(served.requests) == 1  # final: not retried


def test_dropped_connection_resumes_with_range(served, tmp_path: Path) -> None:
    served.drop_after, served.drop_times = 100_000, 1
    target = tmp_path / "a.tar.gz"
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD
    assert len(served.requests) == 2
    assert "Range" not in served.requests[0][1]
    assert served.requests[1][1]["Range"] == "bytes=100000-"
    assert _names(tmp_path) == ["a.tar.gz"]


def test_dropped_connection_restarts_without_range_support(served, tmp_path: Path) -> None:
    served.drop_after, served.drop_times, served.ranges = 100_000, 1, False
    target = tmp_path / "a.tar.gz"
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD  # the 200 answer is written from the start
    assert len(served.requests) == 2


def test_partial_file_of_an_earlier_run_is_resumed(served, tmp_path: Path) -> None:
    target = tmp_path / "a.tar.gz"
    (tmp_path / "a.tar.gz.part").write_bytes(PAYLOAD[:1234])
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD
    assert [h.get("Range") for _, h in served.requests] == ["bytes=1234-"]


def test_a_whole_part_file_of_an_earlier_run_is_kept_without_fetching(served, tmp_path) -> None:
    target = tmp_path / "a.tar.gz"
    (tmp_path / "a.tar.gz.part").write_bytes(PAYLOAD)  # stopped between last byte and rename
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD and served.requests == []
    assert _names(tmp_path) == ["a.tar.gz"]


def test_a_part_file_too_long_or_wrong_is_fetched_afresh(served, tmp_path) -> None:
    target = tmp_path / "a.tar.gz"
    for leftover in (PAYLOAD + b"junk", b"x" * len(PAYLOAD)):
        (tmp_path / "a.tar.gz.part").write_bytes(leftover)
        _fetch(served, target)
        assert target.read_bytes() == PAYLOAD
        assert [h.get("Range") for _, h in served.requests] == [None]  # no resuming of it
        target.unlink()
        kept_path(target).unlink()  # else put back without a request
        served.requests.clear()


def test_range_past_the_end_checks_the_part_file(served, tmp_path) -> None:
    """Without a size in the config, a whole part file gets 416 from the server."""
    target = tmp_path / "a.tar.gz"
    (tmp_path / "a.tar.gz.part").write_bytes(PAYLOAD)
    _fetch(served, target, Expected(SHA))
    assert target.read_bytes() == PAYLOAD
    assert [h.get("Range") for _, h in served.requests] == [f"bytes={len(PAYLOAD)}-"]


def test_a_transfer_cut_short_without_content_length_is_resumed(served, tmp_path) -> None:
    served.content_length = False
    served.drop_after, served.drop_times = 100_000, 1  # ends like a finished body would
    target = tmp_path / "a.tar.gz"
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD
    assert [h.get("Range") for _, h in served.requests] == [None, "bytes=100000-"]


def test_a_resumed_answer_from_the_wrong_offset_starts_over(served, tmp_path) -> None:
    served.ranges_from_zero = True
    target = tmp_path / "a.tar.gz"
    (tmp_path / "a.tar.gz.part").write_bytes(PAYLOAD[:1234])
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD  # not the whole file appended to its first bytes
    assert [h.get("Range") for _, h in served.requests] == ["bytes=1234-", None]


def test_always_dropped_gives_up_after_retries(served, tmp_path: Path) -> None:
    served.drop_after, served.drop_times = 1_000, 100
    target = tmp_path / "a.tar.gz"
    with pytest.raises(DownloadError) as info:
        _fetch(served, target, retries=3)
    message = str(info.value)
    assert served.url(PATH) in message and "after 3 attempt(s)" in message
    assert "by hand" in message and f"curl -L -o {target}" in message and SHA in message
    assert len(served.requests) == 3
    assert not target.exists()


def test_not_found_fails_at_once(served, tmp_path: Path) -> None:
    url = served.url("/nothing.tar.gz")
    with pytest.raises(DownloadError, match="404") as info:
        download(url, tmp_path / "a.tar.gz", GOOD, retries=4, backoff=0, timeout=5)
    assert url in str(info.value) and "after 1 attempt(s)" in str(info.value)
    assert len(served.requests) == 1
    assert not (tmp_path / "a.tar.gz").exists()


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_too_many_requests_are_retried_with_backoff(
    served, tmp_path: Path, status: int
) -> None:
    served.status[PATH] = status
    start = time.monotonic()
    with pytest.raises(DownloadError, match=str(status)):
        download(served.url(PATH), tmp_path / "a.tar.gz", GOOD, retries=3, backoff=0.2, timeout=5)
    assert len(served.requests) == 3
    # Waits of 0.2 and 0.4 s between the three attempts (a lower bound: never flaky).
    assert time.monotonic() - start >= 0.6


def test_valid_target_is_not_fetched_again(served, tmp_path: Path) -> None:
    target = tmp_path / "a.tar.gz"
    target.write_bytes(PAYLOAD)
    _fetch(served, target)
    assert served.requests == []
    target.write_bytes(b"stale")  # an invalid file is replaced
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD and len(served.requests) == 1


def test_a_forced_rerun_puts_back_the_verified_file_instead_of_fetching_it(
    served, tmp_path: Path
) -> None:
    target = tmp_path / "a.tar.gz"
    _fetch(served, target)
    kept = kept_path(target)
    assert kept.name == ".a.tar.gz.verified" and kept.samefile(target)  # no space taken
    target.unlink()  # what Snakemake does to a job's outputs before it runs the job
    _fetch(served, target)
    assert target.read_bytes() == PAYLOAD and len(served.requests) == 1
    # A file that is not the one asked for now is dropped and fetched afresh.
    other = random.Random(1).randbytes(1000)
    served.files[PATH] = other
    target.unlink()
    _fetch(served, target, Expected(hashlib.sha256(other).hexdigest(), len(other)))
    assert target.read_bytes() == other and kept.read_bytes() == other
    assert len(served.requests) == 2


def test_a_file_without_a_checksum_keeps_no_link(served, tmp_path: Path) -> None:
    _fetch(served, tmp_path / "cat.jpg", Expected())  # a picture: nothing to verify it by
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.jpg"]


def test_a_host_name_that_does_not_resolve_fails_at_once(tmp_path: Path) -> None:
    url = "http://pets.invalid/images.tar.gz"  # a reserved name: it never resolves
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "a.tar.gz", GOOD, retries=4, backoff=30, timeout=5)
    assert time.monotonic() - start < 20  # not retried: a first backoff alone is 30 s
    message = str(info.value)
    assert f"could not download {url}: the host name pets.invalid could not be resolved" in message
    assert "not retried" in message and "after" not in message
    assert message.endswith(
        "To fix: check the host name in the url; if it is right, this machine cannot look host "
        "names up (offline?): download it by hand (`curl -L -o "
        f"{tmp_path / 'a.tar.gz'} {url}`; `sha256sum {tmp_path / 'a.tar.gz'}` must print {SHA}), "
        "or set the archive's url to a mirror or a file:// path"
    )


def test_file_url(tmp_path: Path) -> None:
    source = tmp_path / "mirror" / "images.tar.gz"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    target = tmp_path / "a.tar.gz"
    download(source.as_uri(), target, GOOD, retries=1, backoff=0)
    assert target.read_bytes() == PAYLOAD


def test_a_missing_file_url_fails_at_once(tmp_path: Path) -> None:
    url = (tmp_path / "mirror" / "images.tar.gz").as_uri()
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "a.tar.gz", GOOD, retries=4, backoff=30)
    assert time.monotonic() - start < 10  # no backoff: retrying cannot make the file appear
    message = str(info.value)
    assert url in message and "after 1 attempt(s)" in message and "check the path" in message
    assert not (tmp_path / "a.tar.gz").exists()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:port/a.tar.gz", "cannot be parsed"),
        ("http://127.0.0.1:99999/a.tar.gz", "out of range"),
        ("https://mirror example.org/a.tar.gz", "space or control character"),
        ("http:///a.tar.gz", "names no host"),
        ("http://[::1/a.tar.gz", "cannot be parsed"),
        ("file://server/data/a.tar.gz", "file:///absolute/path"),
        ("file:///", "names no file"),
        ("ftp://example.org/a.tar.gz", "none of http, https, file"),
    ],
)
def test_a_malformed_url_is_named(url: str, problem: str) -> None:
    assert problem in url_problem(url)


@pytest.mark.parametrize("url", ["https://example.org:8443/a.tar.gz", "file:///data/a.tar.gz"])
def test_well_formed_urls_pass(url: str) -> None:
    assert url_problem(url) is None
