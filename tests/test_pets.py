"""Tests for indexing and splitting the (synthetic) Oxford-IIIT Pet files."""

from __future__ import annotations

import logging
import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from snakevision.data import pets, synthetic

COUNTS = {"train": 10, "val": 5, "test": 8}
BREEDS = synthetic.CAT_BREEDS + synthetic.DOG_BREEDS
STEMS = {f"{breed}_{n}" for breed in BREEDS for n in (1, 2, 3)}


@pytest.fixture(scope="module")
def index(dataset) -> pd.DataFrame:
    return pets.build_index(dataset.images, dataset.trimaps, workers=2)


def _copy(dataset, tmp_path: Path) -> tuple[Path, Path]:
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    shutil.copytree(dataset.images, images)
    shutil.copytree(dataset.trimaps, trimaps)
    return images, trimaps


def _rows(index: pd.DataFrame, stem: str) -> pd.DataFrame:
    return index[index.stem == stem]


def _ok(index: pd.DataFrame) -> pd.DataFrame:
    return index[index.status == "ok"]


def test_quirks_get_their_status(index: pd.DataFrame) -> None:
    expected = {"rgba_png": "PNG", "gif": "GIF", "unlisted": "JPEG"}
    for stem, kind in synthetic.QUIRKS.items():
        row = _rows(index, stem).iloc[0]
        if kind == "corrupt_jpeg":
            assert (row.status, row.format) == ("excluded", "JPEG")
            assert row.reason.startswith("undecodable"), row.reason
        else:
            assert (row.status, row.format, row.reason) == ("ok", expected[kind], "")


def test_every_other_pair_is_usable(index: pd.DataFrame) -> None:
    ok = _ok(index)
    assert set(ok.stem) == STEMS - {"beagle_1"} and ok.stem.is_unique
    assert all(Path(r.image).stem == Path(r.trimap).stem == r.stem for r in ok.itertuples())
    assert list(index.columns) == pets.INDEX_COLUMNS
    assert list(index.stem) == sorted(index.stem)


def test_non_images_are_listed(index: pd.DataFrame) -> None:
    junk = index[index.reason == "not an image"]
    mats = junk[junk.image.str.endswith(".mat")]
    assert sorted(mats.stem) == ["Abyssinian_100", "Abyssinian_101", "Abyssinian_102"]
    hidden = junk[junk.trimap.str.contains("/._", regex=False)]
    assert len(hidden) > 0 and len(junk) == len(mats) + len(hidden)
    assert all(Path(t).name == f"._{s}.png" for s, t in zip(hidden.stem, hidden.trimap))
    assert set(junk.status) == {"excluded"}


def test_breed_and_species(index: pd.DataFrame) -> None:
    assert pets.breed_of("Egyptian_Mau_14") == "Egyptian_Mau"
    assert pets.breed_of("basset_hound_3") == "basset_hound"
    assert pets.breed_of("pug") == "pug"
    assert pets.species_of("Egyptian_Mau") == "cat" and pets.species_of("basset_hound") == "dog"
    ok = _ok(index)
    assert set(ok.breed) == set(BREEDS)
    assert all((r.species == "cat") == (r.breed in synthetic.CAT_BREEDS) for r in ok.itertuples())


def test_missing_extra_and_bad_trimaps(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    (trimaps / "pug_2.png").unlink()
    shutil.copy(trimaps / "pug_3.png", trimaps / "pug_9.png")
    values = np.asarray(Image.open(trimaps / "boxer_2.png")).copy()
    values[0, 0] = 7
    Image.fromarray(values).save(trimaps / "boxer_2.png")
    # One pixel wider than its picture: image and mask would be resized out of register.
    wider = Image.open(trimaps / "boxer_3.png")
    wider.resize((wider.width + 1, wider.height), Image.Resampling.NEAREST).save(
        trimaps / "boxer_3.png"
    )
    (trimaps / "pug_1.png").write_bytes(b"not a png")
    cut = (trimaps / "pug_3.png").read_bytes()
    (trimaps / "pug_3.png").write_bytes(cut[: len(cut) // 2])
    index = pets.build_index(images, trimaps)
    reasons = dict(zip(index.stem, index.reason))
    assert reasons["pug_2"] == "no trimap" and reasons["pug_9"] == "no image"
    assert "values [1, 2, 3, 7]" in reasons["boxer_2"] and "1, 2, 3" in reasons["boxer_2"]
    width, height = Image.open(images / "boxer_3.jpg").size
    assert reasons["boxer_3"] == (
        f"trimap size ({width + 1}, {height}) differs from image size ({width}, {height})"
    )
    assert reasons["pug_1"] == "trimap is not an image"
    assert reasons["pug_3"].startswith("trimap undecodable"), reasons["pug_3"]
    broken = {"beagle_1", "pug_1", "pug_2", "pug_3", "boxer_2", "boxer_3"}
    assert set(_ok(index).stem) == STEMS - broken


def test_files_whose_names_differ_only_in_case_get_a_row_each(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    shutil.copy(images / "pug_3.jpg", images / "pug_3.JPG")
    shutil.copy(trimaps / "boxer_2.png", trimaps / "boxer_2.PNG")
    index = pets.build_index(images, trimaps)
    pug_3, boxer_2 = _rows(index, "pug_3"), _rows(index, "boxer_2")
    assert sorted(Path(p).name for p in pug_3.image) == ["pug_3.JPG", "pug_3.jpg"]
    assert sorted(Path(p).name for p in boxer_2.trimap) == ["boxer_2.PNG", "boxer_2.png"]
    for rows in (pug_3, boxer_2):
        assert rows.status.tolist().count("ok") == 1
        assert rows.reason.str.startswith("same stem as ").sum() == 1


def test_a_header_claiming_a_huge_picture_is_excluded(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    for path in (images / "pug_3.jpg", trimaps / "boxer_3.png"):
        Image.new("RGB" if path.suffix == ".jpg" else "L", (30, 20), 2).save(path)
    # A damaged JPEG frame header (SOF0) and PNG header (IHDR): 65535 x 65535 pixels.
    jpeg = bytearray((images / "pug_3.jpg").read_bytes())
    at = jpeg.index(b"\xff\xc0") + 5
    jpeg[at : at + 4] = b"\xff\xff\xff\xff"
    (images / "pug_3.jpg").write_bytes(bytes(jpeg))
    png = bytearray((trimaps / "boxer_3.png").read_bytes())
    at = png.index(b"IHDR")
    png[at + 4 : at + 12] = (65535).to_bytes(4, "big") * 2
    png[at + 17 : at + 21] = zlib.crc32(png[at : at + 17]).to_bytes(4, "big")  # a valid chunk
    (trimaps / "boxer_3.png").write_bytes(bytes(png))
    reasons = dict(zip(*pets.build_index(images, trimaps)[["stem", "reason"]].values.T))
    assert reasons["pug_3"].startswith("too large to decode")
    assert reasons["boxer_3"].startswith("trimap too large to decode")


def test_pairs_match_by_stem_not_position(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    (images / "Birman_2.jpg").unlink()
    index = pets.build_index(images, trimaps)
    assert "no image" in _rows(index, "Birman_2").reason.tolist()
    ok = _ok(index)
    # Pictures differ in size, so a shifted pairing would show up as size mismatches.
    assert set(ok.stem) == STEMS - {"beagle_1", "Birman_2"}
    assert all(Path(r.image).stem == Path(r.trimap).stem == r.stem for r in ok.itertuples())


def test_no_usable_pair(dataset, tmp_path: Path) -> None:
    images, trimaps = tmp_path / "images", tmp_path / "trimaps"
    images.mkdir()
    trimaps.mkdir()
    shutil.copy(dataset.images / "beagle_1.jpg", images)  # the corrupt one
    shutil.copy(dataset.trimaps / "beagle_1.png", trimaps)
    with pytest.raises(pets.DatasetError, match="no usable image/trimap pair.*undecodable"):
        pets.build_index(images, trimaps)
    with pytest.raises(pets.DatasetError, match="no folder 'nowhere' in .*images, trimaps"):
        pets.build_index(tmp_path / "nowhere", trimaps)


def test_a_missing_folder_names_what_its_parent_holds(dataset, tmp_path: Path) -> None:
    annotations = tmp_path / "annotations"  # an annotations archive without trimaps/
    (annotations / "xmls").mkdir(parents=True)
    (annotations / "list.txt").write_text("#list\n")
    with pytest.raises(pets.DatasetError) as info:
        pets.build_index(dataset.images, annotations / "trimaps")
    assert str(info.value) == (
        f"no folder 'trimaps' in {annotations} (it holds: list.txt, xmls); "
        "the annotations archive must hold annotations/trimaps/"
    )


def test_a_folder_named_like_a_picture_is_not_one(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    (images / "pug_1.jpg").unlink()
    (images / "pug_1.jpg").mkdir()
    rows = _rows(pets.build_index(images, trimaps), "pug_1")
    assert "no image" in rows.reason.tolist()
    assert str(images / "pug_1.jpg") not in rows.image.tolist()


def _without_read_override() -> list[str]:
    """A command prefix under which chmod 000 keeps this user out, root included."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("root reads any file, and setpriv is missing to drop that right")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("unreadable", ["images/pug_2.jpg", "trimaps/pug_2.png"])
def test_an_unreadable_file_stops_the_index_instead_of_leaving_the_pet_out(
    dataset, tmp_path: Path, unreadable: str
) -> None:
    # Leaving it out would silently change the split; the file is not a bad picture.
    images, trimaps = _copy(dataset, tmp_path)
    (tmp_path / unreadable).chmod(0)
    code = (
        "import sys; from snakevision.data import pets; "
        f"pets.build_index({str(images)!r}, {str(trimaps)!r}, workers=2)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(pets.__file__).parents[2])}
    result = subprocess.run(
        [*_without_read_override(), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode != 0
    assert f"PermissionError: [Errno 13] cannot read {tmp_path / unreadable}" in result.stderr
    assert "fix the file or its storage" in result.stderr


def test_pictures_with_another_extension_are_told_to_rename(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    (images / "pug_3.jpg").rename(images / "pug_3.JPEG")
    Image.open(images / "boxer_2.jpg").save(images / "boxer_2.png")
    (images / "boxer_2.jpg").unlink()
    index = pets.build_index(images, trimaps)
    reasons = dict(zip(index.image.map(lambda p: Path(p).name), index.reason))
    assert reasons["pug_3.JPEG"] == "extension .JPEG: images must be named <stem>.jpg"
    assert reasons["boxer_2.png"] == "extension .png: images must be named <stem>.jpg"
    assert reasons["Abyssinian_100.mat"] == "not an image"
    assert set(_ok(index).stem) == STEMS - {"beagle_1", "pug_3", "boxer_2"}


def _palette(labels: np.ndarray) -> Image.Image:
    """A VOC-style trimap: the labels are palette indices, the palette holds colours."""
    image = Image.frombytes("P", labels.shape[::-1], labels.astype(np.uint8).tobytes())
    image.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0])
    return image


def test_trimaps_are_read_by_the_numbers_they_store(dataset, tmp_path: Path) -> None:
    images, trimaps = _copy(dataset, tmp_path)
    labels = {s: np.asarray(Image.open(trimaps / f"{s}.png")) for s in ("pug_3", "pug_2")}
    _palette(labels["pug_3"]).save(trimaps / "pug_3.png")
    _palette(labels["pug_2"] - 1).save(trimaps / "pug_2.png")
    for stem, scale in [("boxer_2", 257), ("boxer_3", 1)]:  # 16-bit PNGs
        values = np.asarray(Image.open(trimaps / f"{stem}.png")).astype(np.uint16) * scale
        Image.fromarray(values).save(trimaps / f"{stem}.png")
        assert Image.open(trimaps / f"{stem}.png").mode == "I;16"
    for stem, spoil in [("pug_1", False), ("boxer_1", True)]:  # saved as RGB: grey levels count
        grey = np.asarray(Image.open(trimaps / f"{stem}.png")).copy()
        grey[0, 0] = 7 if spoil else grey[0, 0]
        Image.fromarray(grey).convert("RGB").save(trimaps / f"{stem}.png")
    reasons = dict(zip(*pets.build_index(images, trimaps)[["stem", "reason"]].values.T))
    assert reasons["pug_3"] == reasons["boxer_3"] == reasons["pug_1"] == ""
    assert reasons["boxer_1"] == (
        "trimap has values [1, 2, 3, 7] (grey levels of its mode RGB pixels), expected only 1, 2, 3"
    )
    assert reasons["pug_2"] == (
        f"trimap has values {np.unique(labels['pug_2'] - 1).tolist()} (palette indices), "
        "expected only 1, 2, 3"
    )
    assert reasons["boxer_2"].startswith("trimap has values [257, 514, 771] (mode I;16)")


SETTINGS = {"segmentation": {"num_val": 20}, "classification": COUNTS}


def _split(index: pd.DataFrame, seed: int = 1337) -> pd.DataFrame:
    """Both tasks' splits in one table, as rule split_table writes split.csv."""
    tables = [pets.split(index, task, seed, settings) for task, settings in SETTINGS.items()]
    return pd.concat(tables, ignore_index=True)


def test_split_is_deterministic(index: pd.DataFrame) -> None:
    for task, settings in SETTINGS.items():
        first = pets.split(index, task, 1337, settings)
        assert list(first.columns) == pets.SPLIT_COLUMNS and set(first.task) == {task}
        pd.testing.assert_frame_equal(first, pets.split(index, task, 1337, settings))
        other = pets.split(index, task, 1338, settings)
        assert first.stem.tolist() != other.stem.tolist()


def test_split_logs_each_part_per_species(index: pd.DataFrame, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="snakevision.data.pets"):
        table = pets.split(index, "classification", 1337, SETTINGS["classification"])
    species = table.stem.map(lambda stem: pets.species_of(pets.breed_of(stem)))
    expected = [
        f"classification {part}: {((table.split == part) & (species == kind)).sum()} {kind}s"
        for part in ("train", "val", "test")
        for kind in ("cat", "dog")
    ]
    assert [r.getMessage() for r in caplog.records if r.name == "snakevision.data.pets"] == expected


def test_segmentation_split(index: pd.DataFrame) -> None:
    table = pets.split_segmentation(index, 1337, 20)
    usable = set(_ok(index).stem)
    train, val = (set(table[table.split == s].stem) for s in ("train", "val"))
    assert (table.split == "val").sum() == 20 and len(table) == len(usable)
    assert train | val == usable and not train & val
    with pytest.raises(
        pets.DatasetError, match=f"only {len(usable)} usable.*at most {len(usable) - 1}"
    ):
        pets.split_segmentation(index, 1337, len(usable))


def test_segmentation_split_follows_the_book(dataset, index: pd.DataFrame) -> None:
    usable = set(_ok(index).stem)
    paths = sorted(
        os.path.join(dataset.images, name)
        for name in os.listdir(dataset.images)
        if name.endswith(".jpg") and Path(name).stem in usable
    )
    random.Random(1337).shuffle(paths)
    stems = [Path(p).stem for p in paths]
    table = pets.split_segmentation(index, 1337, 20)
    assert table[table.split == "train"].stem.tolist() == stems[:-20]
    assert table[table.split == "val"].stem.tolist() == stems[-20:]


def test_a_training_subset_keeps_the_validation_images(index: pd.DataFrame) -> None:
    full = pets.split_segmentation(index, 1337, 20)
    subset = pets.split_segmentation(index, 1337, 20, num_train=30)
    for name in ("train", "val"):
        assert full.split.value_counts()[name] >= subset.split.value_counts()[name]
    assert (subset.split == "train").sum() == 30
    assert subset[subset.split == "val"].stem.tolist() == full[full.split == "val"].stem.tolist()
    assert (
        subset[subset.split == "train"].stem.tolist()
        == full[full.split == "train"].stem.tolist()[:30]
    )
    left = (full.split == "train").sum()
    with pytest.raises(pets.DatasetError, match=f"num_train is {left + 1}.*at most {left}"):
        pets.split_segmentation(index, 1337, 20, num_train=left + 1)


def test_classification_split(index: pd.DataFrame) -> None:
    table = pets.split_classification(index, 1337, COUNTS)
    species = dict(zip(index.stem, index.species))
    assert set(table.task) == {"classification"}
    for name, n in COUNTS.items():
        chosen = table[table.split == name].stem
        assert sorted(species[s] for s in chosen) == ["cat"] * n + ["dog"] * n
    assert table.stem.is_unique and set(table.stem) <= set(_ok(index).stem)


def test_classification_split_too_large(index: pd.DataFrame) -> None:
    ok = _ok(index)
    cats, dogs = (int((ok.species == s).sum()) for s in ("cat", "dog"))
    assert (cats, dogs) == (36, 74)
    counts = {"train": 30, "val": 5, "test": 5}
    with pytest.raises(pets.DatasetError) as info:
        pets.split_classification(index, 1337, counts)
    message = str(info.value)
    assert "40 images per species" in message and f"{{'cat': {cats}, 'dog': {dogs}}}" in message


def test_members_keep_split_order(index: pd.DataFrame) -> None:
    table = _split(index)
    for task, name in [("segmentation", "val"), ("classification", "test")]:
        chosen = table[(table.task == task) & (table.split == name)].stem.tolist()
        rows = pets.members(index, table, task, name)
        assert rows.stem.tolist() == chosen
        assert all(Path(p).stem == s for p, s in zip(rows.image, rows.stem))
