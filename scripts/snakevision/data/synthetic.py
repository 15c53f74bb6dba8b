"""Offline stand-in for the Oxford-IIIT Pet archives: same layout and quirks, synthetic pictures."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
from PIL import Image

from snakevision.data.drawing import draw_pet, trimap
from snakevision.data.pets import breed_of, species_of
from snakevision.data.workers import process_pool
from snakevision.files import atomic
from snakevision.job.console import Progress

CAT_BREEDS: tuple[str, ...] = (
    "Abyssinian",
    "Bengal",
    "Birman",
    "Bombay",
    "British_Shorthair",
    "Egyptian_Mau",
    "Maine_Coon",
    "Persian",
    "Ragdoll",
    "Russian_Blue",
    "Siamese",
    "Sphynx",
)
DOG_BREEDS: tuple[str, ...] = (
    "american_bulldog",
    "american_pit_bull_terrier",
    "basset_hound",
    "beagle",
    "boxer",
    "chihuahua",
    "english_cocker_spaniel",
    "english_setter",
    "german_shorthaired",
    "great_pyrenees",
    "havanese",
    "japanese_chin",
    "keeshond",
    "leonberger",
    "miniature_pinscher",
    "newfoundland",
    "pomeranian",
    "pug",
    "saint_bernard",
    "samoyed",
    "scottish_terrier",
    "shiba_inu",
    "staffordshire_bull_terrier",
    "wheaten_terrier",
    "yorkshire_terrier",
)
# All stems end in _1, so every quirk exists for any images_per_breed.
QUIRKS: dict[str, str] = {
    "Abyssinian_1": "rgba_png",
    "Egyptian_Mau_1": "gif",
    "beagle_1": "corrupt_jpeg",
    "Bengal_1": "unlisted",
    "keeshond_1": "unlisted",
}

# The official class ids follow the case-insensitive alphabetical order of breed names.
_BREEDS: tuple[str, ...] = tuple(sorted(CAT_BREEDS + DOG_BREEDS, key=str.lower))
ANNOTATION_FOLDERS = ["annotations", "annotations/trimaps", "annotations/xmls"]
_LIST_HEADER = (
    "#Image CLASS-ID SPECIES BREED ID\n"
    "#ID: 1:37 Class ids\n"
    "#SPECIES: 1:Cat 2:Dog\n"
    "#BREED ID: 1-25:Dog 1:12:Cat\n"
    "#All images with 1st letter as captial are cat images\n"
    "#images with small first letter are dog images\n"
)
_MTIME = 1338508800  # 2012-06-01, about when the real archive was made; fixed for reproducibility
_JPEG_QUALITY = 90
# AppleDouble magic, as in the macOS "._" files of the real archive.
_APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(150)
_MAT = b"MATLAB 5.0 MAT-file, Platform: GLNXA64, synthetic junk".ljust(128, b" ") + bytes(64)


def write_archives(
    images_tar: Path,
    annotations_tar: Path,
    *,
    images_per_breed: int,
    seed: int,
    min_side: int = 120,
    max_side: int = 260,
    workers: int = 1,
) -> None:
    """Write images.tar.gz and annotations.tar.gz in the official Oxford-IIIT Pet layout.

    Pictures are drawn by `workers` processes; the archives are the same for any number.
    """
    pets = _pets(images_per_breed)
    records = [  # stem, class id, species, breed id, as in list.txt
        (stem, class_id, *_breed_ids(class_id))
        for stem, class_id, _ in pets
        if QUIRKS.get(stem) != "unlisted"
    ]
    trainval, test = _split(records)
    # Members go in sorted order, and a pet's picture and trimap sort alike (same stem, then
    # "."), so each pet is written as soon as it is drawn: memory stays flat however many.
    pets.sort(key=lambda pet: f"{pet[0]}.jpg")
    mats = {f"images/Abyssinian_{k}.mat": _MAT + bytes([k]) for k in range(100, 103)}
    hidden = [
        f"annotations/trimaps/._{stem}.png" for stem, class_id, n in pets if (class_id + n) % 9 == 0
    ]
    jobs = [(seed, class_id, n, stem, min_side, max_side) for stem, class_id, n in pets]
    head_boxes: dict[str, tuple[int, ...]] = {}
    with (
        _tar_writer(Path(images_tar), ["images"]) as add_image,
        _tar_writer(Path(annotations_tar), ANNOTATION_FOLDERS) as add_annotation,
        process_pool(workers) if workers > 1 else nullcontext() as pool,
    ):
        add_annotation("annotations/list.txt", (_LIST_HEADER + _lines(records)).encode())
        add_annotation("annotations/test.txt", _lines(test).encode())
        add_annotation("annotations/trainval.txt", _lines(trainval).encode())
        for name in sorted(hidden):
            add_annotation(name, _APPLE_DOUBLE)
        drawn = pool.map(_pet_files, jobs, chunksize=8) if pool else map(_pet_files, jobs)
        progress = Progress("drawing synthetic pets", len(jobs), "pets")
        for (stem, *_), (picture, trimap, head_box) in zip(pets, drawn):
            progress.advance()
            for name in sorted(m for m in mats if m < f"images/{stem}.jpg"):
                add_image(name, mats.pop(name))  # .mat files sort among the pictures
            add_image(f"images/{stem}.jpg", picture)
            add_annotation(f"annotations/trimaps/{stem}.png", trimap)
            head_boxes[stem] = head_box
        for name in sorted(mats):
            add_image(name, mats[name])
        # The real archive has head boxes for trainval images only.
        for stem in sorted(stem for stem, *_ in trainval):
            add_annotation(f"annotations/xmls/{stem}.xml", _xml(stem, *head_boxes[stem]))


def _pets(images_per_breed: int) -> list[tuple[str, int, int]]:
    """(stem, class id, number) of every pet, breed by breed in class-id order."""
    return [
        (f"{breed}_{n}", class_id, n)
        for class_id, breed in enumerate(_BREEDS, start=1)
        for n in range(1, images_per_breed + 1)
    ]


def _breed_ids(class_id: int) -> tuple[int, int]:
    """(species, breed id within the species) of a class id, as list.txt numbers them."""
    breed = _BREEDS[class_id - 1]
    if species_of(breed) == "cat":
        return 1, CAT_BREEDS.index(breed) + 1
    return 2, DOG_BREEDS.index(breed) + 1


def _pet_files(job: tuple[int, int, int, str, int, int]) -> tuple[bytes, bytes, tuple[int, ...]]:
    """Draw one pet: its picture file, trimap file and head box with the picture's size."""
    seed, class_id, n, stem, min_side, max_side = job
    # One generator per picture: a stem looks the same whatever images_per_breed is.
    rng = np.random.default_rng([seed, class_id, n])
    cat = species_of(_BREEDS[class_id - 1]) == "cat"
    picture, mask, head = draw_pet(rng, cat, class_id, min_side, max_side)
    head_box = (*head, picture.shape[1], picture.shape[0])
    return _encode(picture, QUIRKS.get(stem, "jpeg")), _png(trimap(mask)), head_box


def _encode(picture: np.ndarray, kind: str) -> bytes:
    """Return the picture's file bytes: JPEG, or the odd format its quirk asks for."""
    image = Image.fromarray(picture)
    out = io.BytesIO()
    if kind == "gif":
        image.quantize(colors=256).save(out, "GIF")
    elif kind == "rgba_png":
        image.putalpha(255)
        image.save(out, "PNG")
    else:
        image.save(out, "JPEG", quality=_JPEG_QUALITY)
    data = out.getvalue()
    if kind == "corrupt_jpeg":
        # Headers intact, scan data cut short: the file opens but cannot be decoded.
        return data[: data.index(b"\xff\xda") + 40]
    return data


def _png(labels: np.ndarray) -> bytes:
    """Return a trimap as 8-bit greyscale PNG bytes."""
    out = io.BytesIO()
    Image.fromarray(labels).save(out, "PNG")
    return out.getvalue()


def _split(
    records: list[tuple[str, int, int, int]],
) -> tuple[list[tuple[str, int, int, int]], list[tuple[str, int, int, int]]]:
    """Split records into trainval and test, about half of each breed in each."""
    trainval, test = [], []
    for class_id in range(1, len(_BREEDS) + 1):
        rows = [r for r in records if r[1] == class_id]
        # Alternate which side gets the odd one out, so tiny runs still fill both.
        cut = (len(rows) + class_id % 2) // 2
        trainval += rows[:cut]
        test += rows[cut:]
    return trainval, test


def _lines(records: list[tuple[str, int, int, int]]) -> str:
    """Return records as official list lines: stem class_id species breed_id."""
    return "".join(" ".join(map(str, r)) + "\n" for r in records)


def _xml(stem: str, x0: int, y0: int, x1: int, y1: int, width: int, height: int) -> bytes:
    """Return a PASCAL VOC head-box annotation like those in annotations/xmls."""
    species = species_of(breed_of(stem))
    return (
        "<annotation><folder>OXIIIT</folder>"
        f"<filename>{stem}.jpg</filename>"
        "<source><database>OXFORD-IIIT Pet Dataset</database>"
        "<annotation>OXIIIT</annotation><image>synthetic</image></source>"
        f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"
        "<segmented>0</segmented>"
        f"<object><name>{species}</name><pose>Frontal</pose><truncated>0</truncated>"
        f"<occluded>0</occluded><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
        f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox><difficult>0</difficult></object>"
        "</annotation>\n"
    ).encode()


@contextmanager
def _tar_writer(path: Path, folders: list[str]) -> Iterator[Callable[[str, bytes], None]]:
    """Yield add(name, data), which appends a member to a reproducible gzip tarball at path.

    Folders come first, then the members, which must come sorted, as in the official
    archives. The tarball replaces path only once complete.
    """
    with (
        atomic(path) as tmp,
        open(tmp, "wb") as f,
        # filename="" keeps the temporary file's name out of the gzip header; mtime=0 the clock.
        gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name in folders:
            tar.addfile(_info(name, tarfile.DIRTYPE, 0o755, 0))

        def add(name: str, data: bytes) -> None:
            tar.addfile(_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))

        yield add


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    """Return tar metadata that does not depend on who ran this, or when."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, _MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
