"""npy.Rows: reading .npy rows with plain reads gives what numpy gives, and maps nothing."""

from pathlib import Path

import numpy as np
import pytest
from snakevision.data.npy import Rows


@pytest.fixture
def stack(tmp_path: Path) -> tuple[Path, np.ndarray]:
    array = np.random.default_rng(0).integers(0, 256, (23, 5, 4, 3), dtype=np.uint8)
    np.save(tmp_path / "stack.npy", array)
    return tmp_path / "stack.npy", array


@pytest.mark.parametrize(
    "key",
    [
        0,
        22,
        -1,
        np.int64(7),
        slice(None),
        slice(3, 11),
        slice(20, None),
        slice(1, 20, 4),
        slice(5, 5),
        np.array([4, 5, 6, 9, 10, 0]),  # runs of consecutive rows and unsorted rows
        [2, 2, -3],
        np.array([], dtype=int),
        (np.array([1, 8]), Ellipsis, 0),
        (slice(2, 6), Ellipsis, 0),
        (3, 1),
    ],
)
def test_indexing_matches_numpy(stack, key) -> None:
    path, array = stack
    got = Rows(path)[key]
    expected = array[key]
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert np.array_equal(got, expected)


def test_array_protocol_and_other_dtypes(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.float32) / 3
    np.save(tmp_path / "labels.npy", labels)
    rows = Rows(tmp_path / "labels.npy")
    assert (len(rows), rows.ndim, rows.shape, rows.dtype) == (10, 1, (10,), np.float32)
    assert np.array_equal(np.asarray(rows), labels)
    assert np.array_equal(rows[[9, 0]], labels[[9, 0]])


def test_bad_indices_and_files_say_what_is_wrong(stack, tmp_path: Path) -> None:
    path, _ = stack
    rows = Rows(path)
    with pytest.raises(IndexError, match="out of range for 23 rows"):
        rows[23]
    with pytest.raises(IndexError, match="out of range"):
        rows[[0, -24]]
    with pytest.raises(IndexError, match="int, a slice or int arrays"):
        rows[np.array([0.5])]

    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"truncated .* delete it and rerun"):
        Rows(truncated)


def test_reading_keeps_nothing_of_the_file_resident(tmp_path: Path) -> None:
    """A memory map would leave the file's pages in RSS; plain reads leave none mapped."""
    path = tmp_path / "big.npy"
    np.save(path, np.ones((64, 256, 256, 3), dtype=np.uint8))  # 12 MB
    rows = Rows(path)
    total = sum(int(rows[i : i + 8].sum()) for i in range(0, len(rows), 8))
    assert total == 64 * 256 * 256 * 3
    maps = Path("/proc/self/maps").read_text().splitlines()
    assert [line for line in maps if str(path) in line] == []
