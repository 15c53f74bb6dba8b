"""Decoding pictures and trimaps, the one place that knows the file formats."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

# Trimap values in the files: 1 pet, 2 background, 3 border; labels are these minus one.
TRIMAP_VALUES = (1, 2, 3)

# 16-bit grey: convert() clips these to 255 instead of scaling, so they take their own path.
SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
# Modes whose stored numbers are the trimap labels (palette indices for P, 32-bit integers and
# floats from arrays), not grey levels.
LABEL_MODES = frozenset({"P", "I", "F"}) | SIXTEEN_BIT


class DecodeError(ValueError):
    """A file that is not a picture we can use; the message says why."""


def _unreadable(path: Path, exc: OSError) -> OSError | None:
    """The error to raise for a file the system cannot read (no permission, I/O error), if so.

    Such a file is not a bad picture: leaving it out of the data would silently change the
    split. Pillow's own decoding errors carry no errno.
    """
    if exc.errno is None:
        return None
    return OSError(exc.errno, f"cannot read {path}: {exc.strerror}; fix the file or its storage")


def _to_rgb(image: Image.Image) -> Image.Image:
    """The decoded picture as RGB, 16-bit grey scaled down rather than clipped."""
    if image.mode == "RGB":
        return image  # the common JPEG case: convert() would copy it
    if image.mode in SIXTEEN_BIT:
        return Image.fromarray((np.asarray(image) >> 8).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def _decoded(path: Path, what: str, read: Callable[[Image.Image], Any]) -> Any:
    """read(the decoded file at path); Pillow's errors become a DecodeError, prefixed by what."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF and palette-transparency chatter
            with Image.open(path) as image:
                image.load()
                return read(image)
    except UnidentifiedImageError as exc:
        raise DecodeError(f"{what}is not an image" if what else "not an image") from exc
    except Image.DecompressionBombError as exc:  # a damaged header, or a photo of 180+ Mpx
        raise DecodeError(f"{what}too large to decode: {exc}") from exc
    except OSError as exc:
        raise _unreadable(path, exc) or DecodeError(f"{what}undecodable: {exc}") from exc
    except (SyntaxError, ValueError) as exc:
        raise DecodeError(f"{what}undecodable: {exc}") from exc


def open_rgb(path: Path) -> Image.Image:
    """Decode any format Pillow reads (JPEG, PNG, GIF, RGBA, 16-bit grey) into an RGB image."""
    return _decoded(path, "", _to_rgb)


def _listing(values: np.ndarray) -> str:
    """The distinct values, shortened: a photo used as a trimap would list thousands."""
    distinct = np.unique(values).tolist()
    if len(distinct) <= 10:
        return str(distinct)
    return f"[{', '.join(map(str, distinct[:5]))}, ..., {distinct[-1]}] ({len(distinct)} distinct)"


def _bad_values(values: np.ndarray, mode: str) -> DecodeError:
    """The error for a trimap holding other values, saying what kind of numbers they are."""
    if mode == "L":
        stored = ""
    elif mode == "P":
        stored = " (palette indices)"
    elif mode in LABEL_MODES:
        stored = f" (mode {mode})"
    else:
        stored = f" (grey levels of its mode {mode} pixels)"
    return DecodeError(f"trimap has values {_listing(values)}{stored}, expected only 1, 2, 3")


def _stored(image: Image.Image) -> tuple[str, np.ndarray | Image.Image]:
    """A trimap's mode, and its labels as stored (label modes) or its grey levels."""
    if image.mode in LABEL_MODES:
        return image.mode, np.asarray(image)  # the numbers stored, not their palette colours
    return image.mode, image if image.mode == "L" else image.convert("L")


def open_trimap(path: Path) -> Image.Image:
    """Decode a trimap as 8-bit grey levels, checking its values are 1, 2 or 3."""
    mode, trimap = _decoded(path, "trimap ", _stored)
    if mode in LABEL_MODES:
        if not np.isin(trimap, TRIMAP_VALUES).all():  # also refuses 1.5 in a float trimap
            raise _bad_values(trimap, mode)
        return Image.fromarray(trimap.astype(np.uint8))
    low, high = trimap.getextrema()  # ten times cheaper than np.unique on every trimap
    if low < min(TRIMAP_VALUES) or high > max(TRIMAP_VALUES):
        raise _bad_values(np.asarray(trimap), mode)
    return trimap


@cache
def picture_suffixes() -> frozenset[str]:
    """Lower-case extensions of the formats Pillow reads: '.jpeg', '.png', '.tif'..."""
    return frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def image_format(path: Path) -> str:
    """The format Pillow detects from the content (JPEG, PNG, GIF...), or '' if none."""
    try:
        with Image.open(path) as image:
            return image.format or ""
    except OSError as exc:  # UnidentifiedImageError too
        if error := _unreadable(path, exc):
            raise error from exc
        return ""
    except Image.DecompressionBombError:
        return ""


def resized(image: Image.Image, size: int) -> np.ndarray:
    """An RGB image as a uint8 array of shape (size, size, 3), resized with antialiasing."""
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def load_image(path: Path, size: int) -> np.ndarray:
    """RGB uint8 array of shape (size, size, 3), resized with antialiasing."""
    return resized(open_rgb(path), size)


def load_mask(path: Path, size: int) -> np.ndarray:
    """Label mask of shape (size, size, 1), values 0 pet, 1 background, 2 border."""
    trimap = open_trimap(path).resize((size, size), Image.Resampling.NEAREST)
    return (np.asarray(trimap, dtype=np.uint8) - 1)[..., None]


def looks_like(head: bytes) -> str | None:
    """A hint at what a file holds from its first bytes (HTML, zip, JSON, text), or None."""
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text:
        return "an HTML page (a web page about the file, not the file itself?)"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (a whole .keras model?)"
    if text.startswith((b"{", b"[")):
        return "JSON"
    if head and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        return "text"
    return None


def what_it_is(path: Path) -> str:
    """A hint at what a file that is no picture holds, from its first bytes."""
    with open(path, "rb") as file:
        return looks_like(file.read(512)) or "no picture format Pillow knows"


@dataclass(frozen=True)
class Picture:
    """A picture to explain: its name in output paths, its file, and where config named it."""

    name: str
    path: Path
    origin: str  # for messages: the config entry, or the test split

    def load(self) -> Image.Image:
        """The picture as RGB at its own resolution; an error names where config has it."""
        try:
            return open_rgb(self.path)
        except DecodeError as exc:
            raise DecodeError(
                f"{self.origin}: {self.path} is not a usable picture ({exc}; it holds "
                f"{what_it_is(self.path)}); point the entry at an image file (JPEG, PNG...)"
            ) from exc
