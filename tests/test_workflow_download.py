"""The real download rule through snakemake, against archives served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest
from workflow import copy_workflow, planned_jobs, snakemake, write_config

pytestmark = pytest.mark.workflow

# 32 classification training images: the classifiers' default batch of 32 fits.
SPLIT = {"segmentation": {"num_val": 10}, "classification": {"train": 16, "val": 3, "test": 3}}


def download_config(server, dataset, sha256=None):
    """Config for source download, pointing at the server's copy of the synthetic archives."""
    archives = {}
    for name, path in (("images", dataset.images_tar), ("annotations", dataset.annotations_tar)):
        data = path.read_bytes()
        server.files[f"/pets/{name}.tar.gz"] = data
        archives[name] = {
            "url": server.url(f"/pets/{name}.tar.gz"),
            "sha256": (sha256 or {}).get(name, hashlib.sha256(data).hexdigest()),
            "size": len(data),
        }
    return {
        "dataset": {
            "source": "download",
            "archives": archives,
            "download": {"retries": 3, "backoff_seconds": 0.1, "timeout_seconds": 10},
        },
        "split": SPLIT,
    }


def last_logged(output):
    """The last line of the last failed job's log that Snakemake shows (show-failed-logs)."""
    block = output.rsplit("\nLogfile ", 1)[1].split("=" * 80 + "\n")[1]
    return block.rstrip("\n").splitlines()[-1]


def archive_requests(server):
    return [path for path, _ in server.requests if path.endswith(".tar.gz")]


def test_download_survives_a_dropped_connection_and_is_never_fetched_twice(
    tmp_path, http_server, dataset
):
    workdir = copy_workflow(tmp_path / "wf")
    config = download_config(http_server, dataset)
    write_config(workdir / "net.yaml", config)
    http_server.drop_after, http_server.drop_times = 4096, 1  # the first request breaks off
    # More cores than the machine may have: the jobs use at most the CPUs they can run on.
    snakemake(workdir, "--cores", "8", "--configfile=net.yaml", "results/data/split.csv")

    for name in ("images", "annotations"):
        archive = workdir / f"resources/downloads/{name}.tar.gz"
        assert archive.read_bytes() == http_server.files[f"/pets/{name}.tar.gz"]
        assert not archive.with_name(archive.name + ".part").exists()
    assert len(archive_requests(http_server)) == 3  # one retry, resumed with a Range request
    assert any("Range" in headers for _, headers in http_server.requests)
    logs = "".join(p.read_text() for p in (workdir / "logs/data").glob("download_*.log"))
    assert "attempt 1 failed" in logs and "verified and saved" in logs
    index = pd.read_csv(workdir / "results/data/index.csv", keep_default_na=False)
    assert (index.status == "ok").sum() == 37 * 3 - 1  # every pair but the corrupt JPEG
    cpus = len(os.sched_getaffinity(0))
    granted = f" of 8 granted ({cpus} CPU(s) usable)" if cpus < 8 else ""
    threads = f"rule index: {min(cpus, 8)} thread(s){granted}, backend -"
    assert threads in (workdir / "logs/data/index.log").read_text()

    # A mirror url or other retry settings change how an archive is fetched, not what it is:
    # nothing reruns, and nothing is fetched.
    http_server.requests.clear()
    for name in ("images", "annotations"):
        mirror = f"/mirror/{name}.tar.gz"
        http_server.files[mirror] = http_server.files[f"/pets/{name}.tar.gz"]
        config["dataset"]["archives"][name]["url"] = http_server.url(mirror)
    config["dataset"]["download"].update(retries=2, timeout_seconds=20)
    write_config(workdir / "net.yaml", config)
    split = workdir / "results/data/split.csv"
    written = split.stat().st_mtime_ns
    result = snakemake(workdir, "--cores", "2", "--configfile=net.yaml", "results/data/split.csv")
    assert "Nothing to be done" in result.stdout + result.stderr
    assert split.stat().st_mtime_ns == written and archive_requests(http_server) == []

    # Nor does edited download code: an archive is what its sha256 says. Forced, the download
    # keeps the valid archives, and nothing after it reruns: extract checks the sha256 it is
    # given, not the archive's age.
    script = workdir / "scripts/download.py"
    script.write_text(script.read_text() + "\n# an edit\n")
    args = ["--cores", "2", "--configfile=net.yaml", "results/data/split.csv"]
    assert planned_jobs(snakemake(workdir, *args, "--dry-run").stdout) == {}
    forced = [*args, "--forcerun", "download"]
    assert planned_jobs(snakemake(workdir, *forced, "--dry-run").stdout) == {"download": 2}
    snakemake(workdir, *forced)
    assert split.stat().st_mtime_ns == written and archive_requests(http_server) == []
    log = (workdir / "logs/data/download_images.log").read_text()
    assert "the verified file of an earlier download" in log  # deleted by Snakemake, put back
    assert not (workdir / ".snakemake/backups").exists()  # no copy of the archive either


def test_a_host_name_that_does_not_resolve_fails_at_once_with_the_fix(tmp_path, dataset):
    workdir = copy_workflow(tmp_path / "wf")
    url = "http://pets.invalid/images.tar.gz"  # a reserved name: it never resolves
    data = dataset.images_tar.read_bytes()
    archive = {"url": url, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    config = {"dataset": {"source": "download", "archives": {"images": archive}}}
    write_config(workdir / "net.yaml", config)  # the default retries: 5, backoff from 2 s
    target = "resources/downloads/images.tar.gz"
    result = snakemake(workdir, "--cores", "1", "--configfile=net.yaml", target, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "the host name pets.invalid could not be resolved" in output, output[-3000:]
    assert "(attempt 2 of 5)" not in output and "attempt 1 failed" not in output
    assert last_logged(output).endswith("or set the archive's url to a mirror or a file:// path")
    assert "Traceback" not in output and "Cannot restore" not in output


def test_a_wrong_checksum_fails_the_job_and_leaves_no_archive(tmp_path, http_server, dataset):
    workdir = copy_workflow(tmp_path / "wf")
    wrong = "0" * 64
    write_config(
        workdir / "net.yaml", download_config(http_server, dataset, {"annotations": wrong})
    )
    result = snakemake(
        workdir,
        "--cores",
        "1",
        "--configfile=net.yaml",
        "resources/downloads/annotations.tar.gz",
        check=False,
    )
    assert result.returncode != 0
    assert (workdir / "logs/data/download_annotations.log").exists(), result.stderr[-3000:]
    log = (workdir / "logs/data/download_annotations.log").read_text()
    actual = hashlib.sha256(dataset.annotations_tar.read_bytes()).hexdigest()
    assert f"expected {wrong}, actual {actual}" in log
    downloads = workdir / "resources/downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []


def test_an_unreachable_server_says_how_to_download_by_hand(tmp_path, http_server, dataset):
    workdir = copy_workflow(tmp_path / "wf")
    config = download_config(http_server, dataset)
    http_server.status["/pets/images.tar.gz"] = 503
    write_config(workdir / "net.yaml", config)
    result = snakemake(
        workdir,
        "--cores",
        "1",
        "--configfile=net.yaml",
        "resources/downloads/images.tar.gz",
        check=False,
    )
    assert result.returncode != 0
    log = (workdir / "logs/data/download_images.log").read_text()
    assert "after 3 attempt(s)" in log and config["dataset"]["archives"]["images"]["url"] in log
    assert "download it by hand" in log and "sha256sum" in log
    assert len(archive_requests(http_server)) == 3
    # What the user sees last: the failed job's log, ending with the fix; no traceback, and
    # no "Cannot restore ... no backup found" (an update() output's warning).
    output = result.stdout + result.stderr
    assert last_logged(output).endswith("or set the archive's url to a mirror or a file:// path")
    assert "Traceback" not in output and "Cannot restore" not in output

    # Following the advice: a copy cut short (a stopped curl) is refused before extraction...
    data = dataset.images_tar.read_bytes()
    archive = workdir / "resources/downloads/images.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(data[: len(data) // 2])
    target = "resources/oxford_pets/images"
    run = ("--cores", "1", "--configfile=net.yaml", target)
    result = snakemake(workdir, *run, check=False)
    assert result.returncode != 0 and not (workdir / target).exists()
    log = (workdir / "logs/data/extract_images.log").read_text()
    assert f"size {len(data) // 2} bytes, expected {len(data)}" in log
    assert "delete it and rerun to download it again" in log
    # ...and the whole one is extracted, without a request.
    archive.write_bytes(data)
    snakemake(workdir, *run)
    assert (workdir / target / "Abyssinian_1.jpg").is_file()
    assert len(archive_requests(http_server)) == 3
