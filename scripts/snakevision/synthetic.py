"""Offline stand-in for the Oxford-IIIT Pet archives: same layout and quirks, synthetic pictures."""

from __future__ import annotations

import gzip
import io
import math
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from snakevision.files import atomic
from snakevision.pets import breed_of, species_of
from snakevision.workers import process_pool

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

Polygon = np.ndarray  # (n, 2) float points, x then y


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
    _check_args(images_tar, annotations_tar, images_per_breed, seed, min_side, max_side)
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
        for (stem, *_), (picture, trimap, head_box) in zip(pets, drawn):
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
    picture, mask, head = _draw_picture(rng, cat, class_id, min_side, max_side)
    head_box = (*head, picture.shape[1], picture.shape[0])
    return _encode(picture, QUIRKS.get(stem, "jpeg")), _png(_trimap(mask)), head_box


def _check_args(
    images_tar: Path,
    annotations_tar: Path,
    per_breed: int,
    seed: int,
    min_side: int,
    max_side: int,
) -> None:
    """Raise TypeError or ValueError naming the first bad argument."""
    for name, value in [
        ("images_per_breed", per_breed),
        ("seed", seed),
        ("min_side", min_side),
        ("max_side", max_side),
    ]:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an integer, got {value!r}")
    if per_breed < 1:
        raise ValueError(f"images_per_breed must be at least 1, got {per_breed}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if not 16 <= min_side <= max_side <= 4096:
        raise ValueError(
            f"need 16 <= min_side <= max_side <= 4096, got min_side={min_side}, max_side={max_side}"
        )
    if Path(images_tar).resolve() == Path(annotations_tar).resolve():
        raise ValueError(f"images_tar and annotations_tar are the same file: {images_tar}")


def _draw_picture(
    rng: np.random.Generator, cat: bool, class_id: int, min_side: int, max_side: int
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """Return an RGB picture, its boolean pet mask and the head box (x0, y0, x1, y1)."""
    width, height = (int(v) for v in rng.integers(min_side, max_side + 1, size=2))
    background = _background(rng, height, width)
    parts, head, features = _silhouette(cat, class_id, rng)
    points = np.concatenate(parts)
    span = points.max(axis=0) - points.min(axis=0)
    # Size the pet by its height relative to the shorter side, but always let it fit, and
    # never so small (tiny pictures) that the trimap's border band swallows it.
    scale = max(rng.uniform(0.45, 0.9) * min(width, height), 12.0) / span[1]
    scale = min(scale, 0.95 * width / span[0], 0.95 * height / span[1])
    low = points.min(axis=0) * scale
    room = np.array([width, height]) - span * scale
    offset = rng.uniform(0, room) - low

    def place(poly: Polygon) -> list[tuple[float, float]]:
        return [tuple(p) for p in poly * scale + offset]

    mask_image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask_image)
    for part in parts:
        draw.polygon(place(part), fill=255)
    mask = np.asarray(mask_image) > 127
    pet = _fur(rng, height, width, background.mean(axis=(1, 2)))
    # Darker towards the outline, as a rounded body is in a photo; a cue for segmentation.
    # A wide blur looks the same at a quarter of the resolution, and costs a sixteenth.
    small = mask_image.reduce(4).filter(ImageFilter.GaussianBlur(float(scale) * 0.35 / 4))
    shade = np.asarray(small.resize((width, height), Image.Resampling.BILINEAR), np.float32)
    pet *= 0.55 + shade * np.float32(0.45 / 255)
    alpha = np.asarray(mask_image.filter(ImageFilter.GaussianBlur(0.6)), np.float32)
    picture = background + (pet - background) * (alpha / np.float32(255))
    np.clip(picture, 0, 255, out=picture)
    image = Image.fromarray(np.ascontiguousarray(picture.astype(np.uint8).transpose(1, 2, 0)))
    draw = ImageDraw.Draw(image)
    for poly, colour in features:
        draw.polygon(place(poly), fill=colour)
    box = head * scale + offset
    x0, y0 = (max(int(v), 0) for v in np.floor(box.min(axis=0)))
    x1, y1 = (int(v) for v in np.ceil(box.max(axis=0)))
    return np.asarray(image), mask, (x0, y0, min(x1, width), min(y1, height))


def _silhouette(
    cat: bool, class_id: int, rng: np.random.Generator
) -> tuple[list[Polygon], Polygon, list[tuple[Polygon, tuple[int, int, int]]]]:
    """Return the pet's outline parts, head outline and face features in units of head radius."""
    # Breeds differ a little in proportions, fixed per breed so breed ids mean something too.
    breed = np.random.default_rng(class_id)
    ears = breed.uniform(0.85, 1.2) * rng.uniform(0.9, 1.1)
    wide = breed.uniform(0.9, 1.15) * rng.uniform(0.95, 1.05)
    body = rng.random() < 0.6
    eye = tuple(int(c) for c in rng.integers(0, 256, 3))
    if cat:
        head = _ellipse(0, 0, 0.95 * wide, 0.85)
        parts = [head]
        for side in (-1, 1):
            tip = (side * (0.75 + 0.15 * ears), -0.8 - 0.9 * ears)
            parts.append(_points([(side * 0.95 * wide, -0.2), (side * 0.15, -0.8), tip]))
        if body:
            parts.append(_ellipse(0, 1.7, 0.9 * wide, 1.15))
        features = [(_ellipse(s * 0.38, -0.05, 0.2, 0.14), eye) for s in (-1, 1)] + [
            (_ellipse(s * 0.38, -0.05, 0.05, 0.13), (0, 0, 0)) for s in (-1, 1)
        ]
        features.append((_points([(-0.1, 0.25), (0.1, 0.25), (0, 0.37)]), (230, 140, 150)))
    else:
        head = _ellipse(0, 0, 1.15 * wide, 0.9)
        parts = [head, _ellipse(0, 0.6, 0.6, 0.5)]
        for side in (-1, 1):
            ear = _ellipse(0, 0, 0.36, 0.85 * ears, angle=-side * 0.4)
            parts.append(ear + np.array([side * 1.2 * wide, 0.45]))
        if body:
            # Neck and body sit low and narrow enough to leave the hanging ears free.
            parts.append(_points([(-0.5, 0.8), (0.5, 0.8), (0.75, 2.0), (-0.75, 2.0)]))
            parts.append(_ellipse(0, 2.45, 1.3 * wide, 0.85))
        features = [(_ellipse(s * 0.42, -0.2, 0.14, 0.14), (20, 12, 8)) for s in (-1, 1)]
        features.append((_ellipse(0, 0.42, 0.22, 0.15), (0, 0, 0)))
    angle = rng.uniform(-0.35, 0.35)  # a tilted head, up to about 20 degrees

    def turn(poly: Polygon) -> Polygon:
        return poly @ _rotation(angle).T

    return (
        [turn(p) for p in parts],
        turn(head),
        [(turn(p), c) for p, c in features],
    )


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Return a float32 (3, height, width) texture mixing gradients, blobs, stripes and checks."""
    colours = rng.uniform(0, 255, size=(3, 3)).astype(np.float32)
    if rng.random() < 0.5:
        t = _along(height, width, rng.uniform(0, 2 * math.pi))
        t -= t.min()
        t /= max(float(t.max()), 1.0)
    else:
        t = _blobs(rng, height, width, cells=int(rng.integers(2, 7)))
    kind = rng.integers(0, 3)
    if kind == 0:  # stripes
        along = _along(height, width, rng.uniform(0, 2 * math.pi))
        pattern = 0.5 + 0.5 * np.sin(along * np.float32(2 * math.pi / rng.uniform(6, 40)))
    elif kind == 1:  # checks
        size = int(rng.integers(6, 40))
        y, x = np.ogrid[0:height, 0:width]
        pattern = ((x // size + y // size) % 2).astype(np.float32)
    else:  # blotches
        pattern = _blobs(rng, height, width, cells=int(rng.integers(6, 20)))
    image = _mix(colours[0], colours[1], t, np.float32(rng.uniform(2, 12)), rng)
    image += (colours[2].reshape(3, 1, 1) - image) * (np.float32(rng.uniform(0.1, 0.6)) * pattern)
    return image


def _fur(rng: np.random.Generator, height: int, width: int, avoid: np.ndarray) -> np.ndarray:
    """Return a float32 (3, height, width) fur texture in a colour unlike avoid."""
    # Keep the pet from vanishing into a background of the same colour.
    base = rng.uniform(0, 255, 3)
    for _ in range(8):
        if np.linalg.norm(base - avoid) > 90:
            break
        base = rng.uniform(0, 255, 3)
    second = rng.uniform(0, 255, 3)
    kind = rng.integers(0, 3)
    if kind == 0:  # tabby stripes
        along = _along(height, width, rng.uniform(0, math.pi))
        t = np.sin(along * np.float32(2 * math.pi / rng.uniform(4, 12)))
        np.clip(t * 2, 0, 1, out=t)
    elif kind == 1:  # spots or patches
        t = _blobs(rng, height, width, cells=int(rng.integers(3, 12))) > 0.6
        t = t.astype(np.float32)
    else:  # plain
        t = np.zeros((height, width), np.float32)
    t *= np.float32(rng.uniform(0.3, 0.8))
    return _mix(base, second, t, np.float32(rng.uniform(6, 18)), rng)


def _mix(
    first: np.ndarray, second: np.ndarray, t: np.ndarray, grain: float, rng: np.random.Generator
) -> np.ndarray:
    """Return colours first..second blended by t, plus grey noise of standard deviation grain."""
    # Channels first: numpy broadcasts a (3, 1, 1) colour over planes far faster than over
    # a trailing axis of length 3.
    first, second = (np.float32(c).reshape(3, 1, 1) for c in (first, second))
    image = first + (second - first) * t
    image += grain * rng.standard_normal(t.shape, dtype=np.float32)
    return image


def _along(height: int, width: int, theta: float) -> np.ndarray:
    """Return each pixel's float32 coordinate along the direction theta."""
    y, x = np.ogrid[0:height, 0:width]
    cos, sin = np.float32(math.cos(theta)), np.float32(math.sin(theta))
    return x.astype(np.float32) * cos + y.astype(np.float32) * sin


def _blobs(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Return smooth random values in [0, 1] by upsampling a small random grid."""
    grid = Image.fromarray(rng.integers(0, 256, size=(cells, cells), dtype=np.uint8))
    smooth = grid.resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(smooth, np.float32) / 255.0


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0) -> Polygon:
    """Return an ellipse as a 32-point polygon, rotated by angle radians about its centre."""
    t = np.linspace(0, 2 * math.pi, 32, endpoint=False)
    points = np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1) @ _rotation(angle).T
    return points + np.array([cx, cy])


def _points(points: list[tuple[float, float]]) -> Polygon:
    """Return points as a polygon array."""
    return np.array(points, dtype=float)


def _rotation(angle: float) -> np.ndarray:
    """Return the 2x2 matrix that rotates column vectors by angle radians."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _trimap(mask: np.ndarray) -> np.ndarray:
    """Return the official trimap: 1 pet, 2 background, 3 a band across the outline."""
    radius = max(1, round(min(mask.shape) / 75))
    # Pixels within radius of both the pet and the background: a band across the outline.
    band = _dilate(mask, radius) & _dilate(~mask, radius)
    trimap = np.where(mask, 1, 2).astype(np.uint8)
    trimap[band] = 3
    return trimap


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Return mask dilated by a square of the given radius (separable, so cheap)."""
    for axis in (0, 1):
        source, mask = mask, mask.copy()
        for k in range(1, radius + 1):
            ahead = [slice(None)] * 2
            behind = [slice(None)] * 2
            ahead[axis], behind[axis] = slice(k, None), slice(None, -k)
            mask[tuple(ahead)] |= source[tuple(behind)]
            mask[tuple(behind)] |= source[tuple(ahead)]
    return mask


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


def _png(trimap: np.ndarray) -> bytes:
    """Return the trimap as 8-bit greyscale PNG bytes."""
    out = io.BytesIO()
    Image.fromarray(trimap).save(out, "PNG")
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
        last = ""

        def add(name: str, data: bytes) -> None:
            nonlocal last
            if name <= last:
                raise ValueError(f"{name} added after {last}: members must come sorted")
            last = name
            tar.addfile(_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))

        yield add


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    """Return tar metadata that does not depend on who ran this, or when."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, _MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
