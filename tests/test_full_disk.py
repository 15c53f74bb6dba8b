"""A write that runs out of space fails clearly and leaves earlier good outputs untouched.

A child process with a small RLIMIT_FSIZE (SIGXFSZ ignored) stands for a full disk: its writes
past the limit fail with EFBIG, as they would with ENOSPC.
"""

from __future__ import annotations

import errno
import io
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, signal, sys
sys.path.insert(0, "scripts")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
exec(sys.argv[2])
"""


def run_limited(code: str, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_arrays_on_a_full_disk_keep_the_old_file(tmp_path, dataset):
    target = tmp_path / "train_images.npy"
    old = np.full((2, 8, 8, 3), 7, np.uint8)
    np.save(target, old)
    paths = sorted(str(p) for p in dataset.images.glob("[a-z]*_[2-3].jpg"))[:20]
    code = (
        "from snakevision.data.arrays import write_stack\n"
        f"write_stack({paths!r}, {str(target)!r}, 'image', 64, 2)"
    )
    result = run_limited(code, 4096)  # the stack needs 20 * 64 * 64 * 3 bytes
    assert result.returncode != 0
    assert "File too large" in result.stderr
    assert np.array_equal(np.load(target), old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_images.npy"]


@pytest.mark.parametrize("where", ["midway", "in the last bytes"])
def test_download_on_a_full_disk_says_so_and_does_not_retry(tmp_path, http_server, where):
    # The last bytes: a chunk smaller than the file buffer, which only close() would flush.
    data = random.Random(0).randbytes((1 << 20) + 100)
    limit = len(data) // 2 if where == "midway" else len(data) - 50
    http_server.files["/images.tar.gz"] = data
    source = tmp_path / "source"
    source.write_bytes(data)
    target = tmp_path / "images.tar.gz"
    code = (
        "import hashlib\n"
        "from snakevision.data.archives import Expected\n"
        "from snakevision.data.downloads import download\n"
        f"data = open({str(source)!r}, 'rb').read()\n"
        f"download({http_server.url('/images.tar.gz')!r}, {str(target)!r}, "
        "Expected(hashlib.sha256(data).hexdigest(), len(data)), retries=3, backoff=0)"
    )
    result = run_limited(code, limit)
    assert result.returncode != 0
    assert "free disk space" in result.stderr and "File too large" in result.stderr
    assert len(http_server.requests) == 1  # a full disk is not retried
    assert not target.exists()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 kB tmpfs, where the machine lets us mount one (root in CI)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_arrays_on_a_really_full_disk_fail_before_decoding(tiny_disk, dataset):
    from snakevision.data.arrays import write_stack

    target = tiny_disk / "train_images.npy"
    paths = sorted(str(p) for p in dataset.images.glob("[a-z]*_[2-3].jpg"))[:40]
    with pytest.raises(OSError) as error:
        write_stack(paths, target, "image", 64, 2)  # needs 480 kB
    assert error.value.errno == errno.ENOSPC
    assert list(tiny_disk.iterdir()) == []


def test_a_table_on_a_full_disk_names_the_file_and_the_room_left(tmp_path):
    target = tmp_path / "index.csv"
    target.write_text("stem\nold\n")
    code = (
        "import pandas as pd\n"
        "from snakevision.files import write_csv\n"
        f"write_csv(pd.DataFrame({{'stem': ['x' * 100] * 1000}}), {str(target)!r})"
    )
    result = run_limited(code, 4096)
    assert result.returncode != 0
    assert f"File too large while writing {target} (" in result.stderr
    assert "MB free there); make room" in result.stderr
    assert target.read_text() == "stem\nold\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.csv"]


def test_an_archive_too_large_for_the_disk_fails_before_extracting(tiny_disk, tmp_path):
    from snakevision.data.archives import extract

    archive = tmp_path / "images.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = random.Random(0).randbytes(400_000)  # the disk holds 256 kB
        info = tarfile.TarInfo("images/big.jpg")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(
        OSError, match=r"holds 0.4 MB of files, but .*tiny has 0.2 MB free"
    ) as error:
        extract(archive, tiny_disk / "images", "images")
    assert error.value.errno == errno.ENOSPC
    assert [p.name for p in tiny_disk.iterdir() if p.suffix != ".lock"] == []
