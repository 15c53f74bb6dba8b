"""Tests for building the uint8 .npy arrays from pictures and trimaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from snakevision.data import arrays, synthetic
from snakevision.data.images import DecodeError

SIZE = 24


def _stems() -> list[str]:
    # More than one chunk of rows, quirk files first and in the middle, not sorted.
    breeds = synthetic.CAT_BREEDS + synthetic.DOG_BREEDS
    stems = [f"{b}_{n}" for n in (3, 2) for b in breeds][:38]
    return ["Egyptian_Mau_1", "Abyssinian_1", *stems[:20], "Egyptian_Mau_1", *stems[20:]]


@pytest.fixture(scope="module")
def paths(dataset) -> dict[str, list[str]]:
    return {
        "image": [str(dataset.images / f"{s}.jpg") for s in _stems()],
        "mask": [str(dataset.trimaps / f"{s}.png") for s in _stems()],
    }


def test_images_match_a_direct_decode(paths: dict[str, list[str]], tmp_path: Path) -> None:
    target = tmp_path / "train_images.npy"
    arrays.write_stack(paths["image"], target, "image", SIZE, workers=1)
    stack = np.load(target)
    assert stack.dtype == np.uint8 and stack.shape == (len(paths["image"]), SIZE, SIZE, 3)
    assert Image.open(paths["image"][0]).format == "GIF"
    assert Image.open(paths["image"][1]).mode == "RGBA"
    for row, path in zip(stack, paths["image"]):
        with Image.open(path) as image:
            expected = image.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR)
        np.testing.assert_array_equal(row, np.asarray(expected), err_msg=path)
    assert len({row.tobytes() for row in stack}) == len(set(paths["image"]))


def test_masks_match_the_trimaps(paths: dict[str, list[str]], tmp_path: Path) -> None:
    target = tmp_path / "train_masks.npy"
    arrays.write_stack(paths["mask"], target, "mask", SIZE)
    stack = np.load(target)
    assert stack.dtype == np.uint8 and stack.shape == (len(paths["mask"]), SIZE, SIZE, 1)
    assert set(np.unique(stack).tolist()) == {0, 1, 2}
    for row, path in zip(stack, paths["mask"]):
        trimap = Image.open(path).resize((SIZE, SIZE), Image.Resampling.NEAREST)
        np.testing.assert_array_equal(row[..., 0], np.asarray(trimap) - 1, err_msg=path)


@pytest.mark.parametrize("kind", ["image", "mask"])
def test_workers_give_the_same_bytes(
    paths: dict[str, list[str]], tmp_path: Path, kind: str
) -> None:
    one, two = tmp_path / "one.npy", tmp_path / "two.npy"
    arrays.write_stack(paths[kind], one, kind, SIZE, workers=1)
    arrays.write_stack(paths[kind], two, kind, SIZE, workers=2)
    assert one.read_bytes() == two.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.npy", "two.npy"]


def test_a_bad_file_leaves_the_old_target(
    dataset, paths: dict[str, list[str]], tmp_path: Path
) -> None:
    target = tmp_path / "val_images.npy"
    np.save(target, np.arange(5, dtype=np.uint8))
    old = target.read_bytes()
    corrupt = str(dataset.images / "beagle_1.jpg")
    with pytest.raises(DecodeError, match="undecodable") as info:
        arrays.write_stack([*paths["image"][:35], corrupt], target, "image", SIZE, workers=2)
    assert "beagle_1.jpg" in str(info.value)
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["val_images.npy"]


def test_labels_roundtrip(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "test_labels.npy"
    arrays.write_labels([0, 1, 1, 0, 1], target)
    labels = np.load(target)
    assert labels.dtype == np.uint8 and labels.tolist() == [0, 1, 1, 0, 1]
    assert [p.name for p in target.parent.iterdir()] == ["test_labels.npy"]


@pytest.mark.parametrize(
    ("mode", "dtype", "fmt"), [("I;16", "<u2", "PNG"), ("I;16B", ">u2", "TIFF")]
)
def test_16_bit_pictures_are_scaled_not_clipped(
    tmp_path: Path, mode: str, dtype: str, fmt: str
) -> None:
    ramp = np.tile(np.linspace(0, 65535, 40).astype(np.uint16), (30, 1))
    path, target = tmp_path / "deep_1.jpg", tmp_path / "train_images.npy"  # named .jpg, as found
    Image.frombytes(mode, (40, 30), ramp.astype(dtype).tobytes()).save(path, fmt)
    assert Image.open(path).mode == mode
    arrays.write_stack([str(path)], target, "image", SIZE)
    high = Image.fromarray((ramp >> 8).astype(np.uint8)).convert("RGB")
    expected = high.resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(np.load(target)[0], np.asarray(expected))


def test_palette_and_16_bit_trimaps_give_their_labels(tmp_path: Path) -> None:
    labels = np.tile(np.repeat(np.array([1, 2, 3, 2], np.uint8), 10), (30, 1))
    palette = Image.frombytes("P", (40, 30), labels.tobytes())
    palette.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0])  # VOC-style colours
    paths = [str(tmp_path / "palette_1.png"), str(tmp_path / "deep_1.png")]
    palette.save(paths[0])
    Image.fromarray(labels.astype(np.uint16)).save(paths[1])
    assert [Image.open(p).mode for p in paths] == ["P", "I;16"]
    target = tmp_path / "val_masks.npy"
    arrays.write_stack(paths, target, "mask", SIZE)
    small = Image.fromarray(labels).resize((SIZE, SIZE), Image.Resampling.NEAREST)
    for row in np.load(target):
        np.testing.assert_array_equal(row[..., 0], np.asarray(small) - 1)
