"""Index the extracted Oxford-IIIT Pet files and split them, seeded, for both tasks."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pandas as pd

from snakevision.data.images import (
    DecodeError,
    image_format,
    open_rgb,
    open_trimap,
    picture_suffixes,
)
from snakevision.data.workers import process_pool
from snakevision.job.console import Progress
from snakevision.labels import SPECIES

log = logging.getLogger(__name__)

INDEX_COLUMNS = [
    "stem",
    "breed",
    "species",
    "image",
    "trimap",
    "format",
    "status",
    "reason",
]
SPLIT_COLUMNS = ["stem", "task", "split"]
SNAKEMAKE_MARKER = ".snakemake_timestamp"  # Snakemake's own file in directory outputs


class DatasetError(ValueError):
    """The data cannot serve the run as configured; the message gives the numbers."""


def breed_of(stem: str) -> str:
    """Breed from a file stem such as 'Egyptian_Mau_14' or 'basset_hound_3'."""
    head, _, tail = stem.rpartition("_")
    return head if head and tail.isdigit() else stem


def species_of(breed: str) -> str:
    """Cat breeds are capitalised in the file names, dog breeds lowercase."""
    return "cat" if breed[:1].isupper() else "dog"


def _row(stem: str, image: str, trimap: str, fmt: str, reason: str) -> dict:
    breed = breed_of(stem)
    return {
        "stem": stem,
        "breed": breed,
        "species": species_of(breed),
        "image": image,
        "trimap": trimap,
        "format": fmt,
        "status": "excluded" if reason else "ok",
        "reason": reason,
    }


def _check_pair(pair: tuple[str, str, str]) -> dict:
    """Decode one image/trimap pair and say whether it is usable."""
    stem, image, trimap = pair
    if not image:
        return _row(stem, image, trimap, "", "no image")
    fmt = image_format(Path(image))
    if not trimap:
        return _row(stem, image, trimap, fmt, "no trimap")
    try:
        picture, mask = open_rgb(Path(image)), open_trimap(Path(trimap))
    except DecodeError as exc:
        return _row(stem, image, trimap, fmt, str(exc))
    differ = f"trimap size {mask.size} differs from image size {picture.size}"
    return _row(stem, image, trimap, fmt, differ if mask.size != picture.size else "")


def _file_row(column: str, stem: str, path: str, fmt: str, reason: str) -> dict:
    """Row for one file of the images (column 'image') or trimaps folder, excluded for reason."""
    image, trimap = (path, "") if column == "image" else ("", path)
    return _row(stem, image, trimap, fmt, reason)


def _left_out(path: Path, column: str) -> dict:
    """Row for a file that is not <stem>.jpg (images) or <stem>.png (trimaps)."""
    if column == "trimap":  # such as the macOS metadata files '._<stem>.png' of the archive
        return _file_row(column, path.stem.lstrip("._"), str(path), "", "not an image")
    if path.suffix.lower() in picture_suffixes() and not path.name.startswith("."):
        reason = f"extension {path.suffix}: images must be named <stem>.jpg"
    else:
        reason = "not an image"
    return _file_row(column, path.stem, str(path), path.suffix.lstrip("."), reason)


def _scan(folder: Path, column: str, suffix: str, found: dict[str, str]) -> list[dict]:
    """Claim folder's <stem><suffix> files in found; a row for every file left out, and why."""
    rows = []
    for path in sorted(folder.iterdir()):
        if path.name == SNAKEMAKE_MARKER or not path.is_file():
            continue
        if path.suffix.lower() == suffix and not path.name.startswith("."):
            if path.stem in found:  # a.jpg and a.JPG: the first keeps the stem
                taken = f"same stem as {Path(found[path.stem]).name}"
                rows.append(_file_row(column, path.stem, str(path), "", taken))
            else:
                found[path.stem] = str(path)
        else:
            rows.append(_left_out(path, column))
    return rows


def _require_folder(folder: Path, hint: str) -> None:
    """Fail unless folder exists, saying what its parent holds instead."""
    if folder.is_dir():
        return
    held = sorted(p.name for p in folder.parent.iterdir() if p.name != SNAKEMAKE_MARKER)
    shown = ", ".join(held[:10]) + (f" and {len(held) - 10} more" if len(held) > 10 else "")
    raise DatasetError(
        f"no folder {folder.name!r} in {folder.parent} (it holds: {shown or 'nothing'}); {hint}"
    )


def build_index(images_dir: Path, trimaps_dir: Path, workers: int = 1) -> pd.DataFrame:
    """One row per file seen, usable pairs 'ok', everything else 'excluded' with the reason."""
    images_dir, trimaps_dir = Path(images_dir), Path(trimaps_dir)
    _require_folder(images_dir, "the images archive must hold images/")
    _require_folder(trimaps_dir, "the annotations archive must hold annotations/trimaps/")
    images: dict[str, str] = {}
    trimaps: dict[str, str] = {}
    rows = _scan(images_dir, "image", ".jpg", images)
    rows += _scan(trimaps_dir, "trimap", ".png", trimaps)
    pairs = [
        (s, images.get(s, ""), trimaps.get(s, "")) for s in sorted(images.keys() | trimaps.keys())
    ]
    log.info("checking %d image/trimap pairs with %d workers", len(pairs), workers)
    progress = Progress("checking image/trimap pairs", len(pairs), "pairs")
    with process_pool(workers) as pool:
        for row in pool.map(_check_pair, pairs, chunksize=64):
            rows.append(row)
            progress.advance()
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS).sort_values(["stem", "image"], kind="stable")
    ok = int((index.status == "ok").sum())
    # A row is a pet or a stray file: a pet excluded for its picture leaves its trimap unused too.
    log.info("%d usable pairs; %d rows excluded (index.csv says why)", ok, len(index) - ok)
    if ok == 0:
        reasons = index.reason.value_counts().to_dict()
        raise DatasetError(
            f"no usable image/trimap pair in {images_dir} and {trimaps_dir} "
            f"(excluded: {reasons}); check the archives"
        )
    return index.reset_index(drop=True)


def _usable(index: pd.DataFrame) -> pd.DataFrame:
    # Sorted by image file, as the book sorts its paths before shuffling them.
    return index[index.status == "ok"].sort_values("image", kind="stable")


def split_segmentation(
    index: pd.DataFrame, seed: int, num_val: int, num_train: int | None = None
) -> pd.DataFrame:
    """The book's split: shuffle with random.Random(seed), the last num_val for validation.

    num_train, if given, keeps only the first num_train of the rest for training: a smaller run
    validates on the very images the full one does.
    """
    stems = _usable(index).stem.tolist()
    if num_val >= len(stems):
        raise DatasetError(
            f"split.segmentation.num_val is {num_val} but only {len(stems)} usable images exist; "
            f"set it to at most {len(stems) - 1}"
        )
    random.Random(seed).shuffle(stems)
    cut = len(stems) - num_val
    if num_train is not None and num_train > cut:
        raise DatasetError(
            f"split.segmentation.num_train is {num_train} but only {cut} usable images are left "
            f"after the {num_val} of num_val; set it to at most {cut}, or null for all of them"
        )
    train = cut if num_train is None else num_train
    return pd.DataFrame(
        {
            "stem": stems[:train] + stems[cut:],
            "task": "segmentation",
            "split": ["train"] * train + ["val"] * num_val,
        }
    )


def split_classification(index: pd.DataFrame, seed: int, counts: dict[str, int]) -> pd.DataFrame:
    """Train, val and test drawn per species, counts[split] images of each species."""
    usable = _usable(index)
    wanted = sum(counts.values())
    drawn = {}
    for offset, species in enumerate(SPECIES):
        stems = usable[usable.species == species].stem.tolist()
        if wanted > len(stems):
            counted = usable.species.value_counts().reindex(list(SPECIES), fill_value=0)
            available = {k: int(v) for k, v in counted.items()}  # not np.int64(...) in the text
            raise DatasetError(
                f"split.classification asks for {counts} = {wanted} images per species, but only "
                f"{available} usable images exist; lower the counts to fit {species}"
            )
        random.Random(seed + offset).shuffle(stems)
        drawn[species] = stems
    frames, start = [], 0
    for split, n in counts.items():
        for species in SPECIES:
            frames.append(pd.DataFrame({"stem": drawn[species][start : start + n], "split": split}))
        start += n
    table = pd.concat(frames, ignore_index=True)
    table.insert(1, "task", "classification")
    return table


def split(index: pd.DataFrame, task: str, seed: int, settings: dict) -> pd.DataFrame:
    """One task's split (stem, task, split); settings is the task's section of config split."""
    if task == "segmentation":
        table = split_segmentation(index, seed, settings["num_val"], settings.get("num_train"))
    else:
        counts = {k: settings[k] for k in ("train", "val", "test")}
        table = split_classification(index, seed, counts)
    species = table.stem.map(lambda stem: species_of(breed_of(stem)))
    sizes = table.groupby(["split", species]).size()
    for part in table.split.unique():  # train, val, test
        for kind in SPECIES:
            # e.g. 'classification val: 250 cats'
            log.info("%s %s: %d %ss", task, part, sizes.get((part, kind), 0), kind)
    return table[SPLIT_COLUMNS]


def members(index: pd.DataFrame, splits: pd.DataFrame, task: str, name: str) -> pd.DataFrame:
    """Index rows of one task's split, in split.csv order (the order of the array rows)."""
    chosen = splits[(splits.task == task) & (splits.split == name)]
    usable = index[index.status == "ok"].drop_duplicates("stem").set_index("stem")
    return usable.loc[chosen.stem].reset_index()
