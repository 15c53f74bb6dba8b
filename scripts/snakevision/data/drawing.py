"""Drawing a synthetic pet: a picture, its pet mask and its trimap in the official values."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Polygon = np.ndarray  # (n, 2) float points, x then y


def draw_pet(
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


def trimap(mask: np.ndarray) -> np.ndarray:
    """Return the official trimap: 1 pet, 2 background, 3 a band across the outline."""
    radius = max(1, round(min(mask.shape) / 75))
    # Pixels within radius of both the pet and the background: a band across the outline.
    band = _dilate(mask, radius) & _dilate(~mask, radius)
    labels = np.where(mask, 1, 2).astype(np.uint8)
    labels[band] = 3
    return labels


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
