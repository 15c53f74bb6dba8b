"""Decoding pictures and trimaps, the one place that knows the file formats."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

# Trimap values in the files: 1 pet, 2 background, 3 border; labels are these minus one.
TRIMAP_VALUES = (1, 2, 3)


class DecodeError(ValueError):
    """A file that is not a picture we can use; the message says why."""


def open_rgb(path: Path) -> Image.Image:
    """Decode any format Pillow reads (JPEG, PNG, GIF, RGBA) into an RGB image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF and palette-transparency chatter
            with Image.open(path) as image:
                image.load()
                # convert() copies even an RGB image: skip it for the common JPEG case.
                return image if image.mode == "RGB" else image.convert("RGB")
    except UnidentifiedImageError as exc:
        raise DecodeError("not an image") from exc
    except Image.DecompressionBombError as exc:  # a damaged header can claim any size
        raise DecodeError(f"too large to decode: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DecodeError(f"undecodable: {exc}") from exc


def open_trimap(path: Path) -> Image.Image:
    """Decode a trimap as 8-bit grey levels, checking its values are 1, 2 or 3."""
    try:
        with Image.open(path) as image:
            image.load()
            trimap = image if image.mode == "L" else image.convert("L")
    except UnidentifiedImageError as exc:
        raise DecodeError("trimap is not an image") from exc
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"trimap too large to decode: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DecodeError(f"trimap undecodable: {exc}") from exc
    low, high = trimap.getextrema()  # ten times cheaper than np.unique on every trimap
    if low < min(TRIMAP_VALUES) or high > max(TRIMAP_VALUES):
        values = np.unique(np.asarray(trimap)).tolist()
        raise DecodeError(f"trimap has values {values}, expected only 1, 2, 3")
    return trimap


def image_format(path: Path) -> str:
    """The format Pillow detects from the content (JPEG, PNG, GIF...), or '' if none."""
    try:
        with Image.open(path) as image:
            return image.format or ""
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return ""


def load_image(path: Path, size: int) -> np.ndarray:
    """RGB uint8 array of shape (size, size, 3), resized with antialiasing."""
    image = open_rgb(path).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def load_mask(path: Path, size: int) -> np.ndarray:
    """Label mask of shape (size, size, 1), values 0 pet, 1 background, 2 border."""
    trimap = open_trimap(path).resize((size, size), Image.Resampling.NEAREST)
    return (np.asarray(trimap, dtype=np.uint8) - 1)[..., None]
