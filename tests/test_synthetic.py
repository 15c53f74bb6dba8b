"""Tests for the synthetic Oxford-IIIT Pet archives."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from snakevision.data import synthetic

PER_BREED = 3
SEED = 5
SIDES = {"min_side": 48, "max_side": 96}
BREEDS = synthetic.CAT_BREEDS + synthetic.DOG_BREEDS


def _write(folder: Path, **kwargs: int) -> tuple[Path, Path]:
    """Write both archives into folder and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    images, annotations = folder / "images.tar.gz", folder / "annotations.tar.gz"
    options = {"images_per_breed": PER_BREED, "seed": SEED, **SIDES, **kwargs}
    synthetic.write_archives(images, annotations, **options)
    return images, annotations


def _members(path: Path) -> dict[str, bytes]:
    """Return every regular file in a tarball by name."""
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Archives written once for the module."""
    return _write(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def files(archives: tuple[Path, Path]) -> dict[str, bytes]:
    """Members of both archives, by name."""
    return _members(archives[0]) | _members(archives[1])


def _stems() -> list[str]:
    return [f"{breed}_{n}" for breed in BREEDS for n in range(1, PER_BREED + 1)]


def _list(files: dict[str, bytes], name: str) -> list[list[str]]:
    """Return the data lines of an annotations list file, split into fields."""
    text = files[f"annotations/{name}"].decode()
    return [line.split() for line in text.splitlines() if not line.startswith("#")]


def test_breeds_match_the_real_dataset() -> None:
    assert len(synthetic.CAT_BREEDS) == 12 and len(synthetic.DOG_BREEDS) == 25
    assert all(b[0].isupper() for b in synthetic.CAT_BREEDS)
    assert all(b[0].islower() for b in synthetic.DOG_BREEDS)


def test_layout(archives: tuple[Path, Path], files: dict[str, bytes]) -> None:
    images = {n for n in files if n.startswith("images/")}
    mats = {f"images/Abyssinian_{k}.mat" for k in (100, 101, 102)}
    assert images == {f"images/{s}.jpg" for s in _stems()} | mats
    trimaps = {n for n in files if re.fullmatch(r"annotations/trimaps/[^.].*\.png", n)}
    assert trimaps == {f"annotations/trimaps/{s}.png" for s in _stems()}
    hidden = [n for n in files if n.startswith("annotations/trimaps/._")]
    assert hidden and all(not files[n].startswith(b"\x89PNG") for n in hidden)
    assert {"annotations/list.txt", "annotations/trainval.txt", "annotations/test.txt"} <= set(
        files
    )
    assert any(n.startswith("annotations/xmls/") for n in files)
    for path, top in zip(archives, ("images", "annotations")):
        with tarfile.open(path) as tar:
            names = tar.getnames()
            assert names == sorted(names, key=lambda n: (not tar.getmember(n).isdir(), n))
            assert all(n == top or n.startswith(top + "/") for n in names)
            assert {(m.uid, m.gid, m.uname, m.mtime) for m in tar} == {(0, 0, "", 1338508800)}


def test_extracts_with_the_data_filter(archives: tuple[Path, Path], tmp_path: Path) -> None:
    for path in archives:
        with tarfile.open(path) as tar:
            tar.extractall(tmp_path, filter="data")
    assert (tmp_path / "images" / "Abyssinian_1.jpg").is_file()
    assert (tmp_path / "annotations" / "trimaps" / "pug_1.png").is_file()


def test_lists_follow_the_official_format(files: dict[str, bytes]) -> None:
    text = files["annotations/list.txt"].decode()
    assert text.startswith("#Image CLASS-ID SPECIES BREED ID\n")
    rows = _list(files, "list.txt")
    ordered = sorted(BREEDS, key=str.lower)
    for stem, class_id, species, breed_id in rows:
        breed = stem.rsplit("_", 1)[0]
        cat = stem[0].isupper()
        pool = synthetic.CAT_BREEDS if cat else synthetic.DOG_BREEDS
        assert int(class_id) == ordered.index(breed) + 1
        assert int(species) == (1 if cat else 2)
        assert int(breed_id) == pool.index(breed) + 1
    listed = {r[0] for r in rows}
    unlisted = {s for s, kind in synthetic.QUIRKS.items() if kind == "unlisted"}
    assert unlisted and listed == set(_stems()) - unlisted
    trainval, test = _list(files, "trainval.txt"), _list(files, "test.txt")
    assert sorted(trainval + test) == sorted(rows)
    assert not {r[0] for r in trainval} & {r[0] for r in test}
    assert abs(len(trainval) - len(test)) <= len(BREEDS)
    assert {r[1] for r in test} == {r[1] for r in trainval}  # every class on both sides


def test_quirks(files: dict[str, bytes]) -> None:
    formats = {"gif": "GIF", "rgba_png": "PNG"}
    for stem, kind in synthetic.QUIRKS.items():
        data = files[f"images/{stem}.jpg"]
        assert f"annotations/trimaps/{stem}.png" in files
        if kind in formats:
            image = Image.open(io.BytesIO(data))
            assert image.format == formats[kind]
            assert image.convert("RGB").size == image.size
        elif kind == "corrupt_jpeg":
            assert data.startswith(b"\xff\xd8")
            with pytest.raises(OSError):
                Image.open(io.BytesIO(data)).load()
    rgba = Image.open(io.BytesIO(files["images/Abyssinian_1.jpg"]))
    assert rgba.mode == "RGBA"
    for stem in set(_stems()) - set(synthetic.QUIRKS):
        image = Image.open(io.BytesIO(files[f"images/{stem}.jpg"]))
        assert image.format == "JPEG" and image.mode == "RGB"


def test_trimaps_match_their_images(files: dict[str, bytes]) -> None:
    fractions = []
    for stem in _stems():
        trimap = Image.open(io.BytesIO(files[f"annotations/trimaps/{stem}.png"]))
        image = Image.open(io.BytesIO(files[f"images/{stem}.jpg"]))
        assert trimap.mode == "L" and trimap.size == image.size
        assert SIDES["min_side"] <= min(image.size) <= max(image.size) <= SIDES["max_side"]
        values = np.asarray(trimap)
        assert set(np.unique(values).tolist()) == {1, 2, 3}
        fractions.append(np.mean(values != 2))
    assert min(fractions) > 0.01 and max(fractions) < 0.7
    assert 0.08 < np.mean(fractions) < 0.4


def test_tiny_pictures_still_have_all_trimap_values(tmp_path: Path) -> None:
    _, annotations = _write(tmp_path, images_per_breed=2, min_side=16, max_side=16)
    for name, data in _members(annotations).items():
        if name.startswith("annotations/trimaps/Ab") or name.startswith("annotations/trimaps/pug"):
            assert set(np.unique(np.asarray(Image.open(io.BytesIO(data))))) == {1, 2, 3}


def test_deterministic(archives: tuple[Path, Path], tmp_path: Path) -> None:
    # Drawn in two processes, written as they come: the same bytes as one process.
    again = _write(tmp_path / "again", workers=2)
    for first, second in zip(archives, again):
        assert first.read_bytes() == second.read_bytes()
    other = _members(_write(tmp_path / "other", seed=SEED + 1)[0])
    same = _members(archives[0])
    differing = [n for n in same if n.endswith(".jpg") and other[n] != same[n]]
    assert len(differing) == len(_stems())


def test_a_stem_does_not_depend_on_how_many_are_made(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    fewer = _members(_write(tmp_path, images_per_breed=1)[0])
    assert fewer["images/pug_1.jpg"] == files["images/pug_1.jpg"]


def test_interrupted_write_leaves_the_old_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "images.tar.gz"
    old.write_bytes(b"old")

    drawn = []
    draw = synthetic._pet_files

    def interrupted(job: tuple) -> tuple:
        if len(drawn) == 20:  # both archives are half written by now
            raise KeyboardInterrupt
        drawn.append(job)
        return draw(job)

    monkeypatch.setattr(synthetic, "_pet_files", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, images_per_breed=1)
    assert old.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.tar.gz"]


def test_members_come_sorted_after_their_folders(archives: tuple[Path, Path]) -> None:
    for path in archives:
        with tarfile.open(path) as tar:
            members = tar.getmembers()
        folders = [m.name for m in members if m.isdir()]
        files = [m.name for m in members if m.isfile()]
        assert [m.name for m in members] == folders + files
        assert files == sorted(files)


def test_cats_and_dogs_differ_in_shape(tmp_path: Path) -> None:
    """A nearest-centroid rule on cropped silhouettes tells cats from dogs."""
    _, annotations = _write(tmp_path, images_per_breed=6)
    files = _members(annotations)

    def features(stem: str) -> np.ndarray:
        trimap = np.asarray(Image.open(io.BytesIO(files[f"annotations/trimaps/{stem}.png"])))
        ys, xs = np.nonzero(trimap != 2)
        crop = (trimap[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] != 2) * np.uint8(255)
        return np.asarray(Image.fromarray(crop).resize((16, 16)), np.float32).ravel() / 255

    def split(name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = _list(files, name)
        return np.stack([features(r[0]) for r in rows]), np.array([r[2] == "2" for r in rows])

    (x_train, y_train), (x_test, y_test) = split("trainval.txt"), split("test.txt")
    centroids = np.stack([x_train[~y_train].mean(0), x_train[y_train].mean(0)])
    distances = ((x_test[:, None, :] - centroids[None]) ** 2).sum(-1)
    accuracy = np.mean(distances.argmin(1) == y_test)
    assert accuracy > 0.85, accuracy


def test_trimap_border_lies_across_the_outline(tmp_path: Path) -> None:
    """Value 3 separates pet (1) from background (2): never interior, never missing."""
    _, annotations = _write(tmp_path, images_per_breed=2, min_side=100, max_side=160)
    trimaps = [
        np.asarray(Image.open(io.BytesIO(data)))
        for name, data in _members(annotations).items()
        if re.fullmatch(r"annotations/trimaps/[^.].*\.png", name)
    ]
    assert len(trimaps) == 2 * len(BREEDS)
    pet, border = (np.array([np.sum(t == v) for t in trimaps]) for v in (1, 3))
    for t in trimaps:
        assert min(t.shape) >= 100
        for a, b in [(t[:, 1:], t[:, :-1]), (t[1:], t[:-1])]:  # 4-neighbours
            assert not np.any((a == 1) & (b == 2) | (a == 2) & (b == 1))
        ys, xs = np.nonzero(t != 2)
        assert t[round(ys.mean()), round(xs.mean())] == 1
    # The band's width follows the picture's side, not the pet's: a small, thin pet (about
    # 1 in 100) can have a little more border than inside, so allow a few of those.
    assert np.all(border > 0) and pet.sum() > 2 * border.sum()
    assert np.sum(pet <= border) <= 2 and np.all(pet > border / 2)
