"""A user's photo through the trained models: each segmenter's mask, each classifier's verdict."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.patches import Patch
from PIL import Image

from snakevision.data.images import Picture, resized
from snakevision.figures import CLASS_COLOURS, DPI, OVERLAY_ALPHA, figure
from snakevision.files import atomic, write_json
from snakevision.labels import SPECIES, TRIMAP_CLASSES

CAT, DOG = SPECIES
PANEL_INCHES = 4.0  # width of each panel of masks.png; its height follows the photo's aspect
# Pixels drawn per panel: twice what the panel shows is sharp, and a 4000 px photo no longer
# costs seconds of drawing per panel.
SHOWN_WIDTH = int(2 * PANEL_INCHES * DPI)
# What the models were trained on, by config's dataset.source, as the outputs say it.
TRAINING_DATA = {
    "synthetic": "the synthetic demo data",
    "download": "the Oxford-IIIT Pet photographs",
}
# The line masks.png states it in: a warning where the data was synthetic.
NOTE_COLOURS = {"synthetic": "#b00000", "download": "#333333"}


@dataclass(frozen=True)
class TrainedOn:
    """What the models were trained on: the config's profile and data source, and the epochs
    each model trained (its history's last epoch: early stopping may end before `epochs`)."""

    profile: str
    source: str
    epochs: Mapping[str, int]

    @classmethod
    def read(
        cls, profile: str, source: str, histories: Mapping[str, str | os.PathLike[str]]
    ) -> TrainedOn:
        """From each model's training history (history.csv, one row per epoch trained)."""
        return cls(profile, source, {name: last_epoch(path) for name, path in histories.items()})

    def note(self, models: Iterable[str]) -> str:
        """One sentence on the models' training; from synthetic data, no measure of quality."""
        epochs = {name: self.epochs[name] for name in models}
        if len(set(epochs.values())) == 1:
            trained = _epochs(next(iter(epochs.values())))
        else:
            trained = ", ".join(f"{name} {_epochs(n)}" for name, n in epochs.items())
        note = f"Models trained on {TRAINING_DATA[self.source]} ({trained}; profile {self.profile})"
        return note + (": not a measure of quality." if self.source == "synthetic" else ".")

    def as_json(self, models: Iterable[str]) -> dict[str, Any]:
        """The trained_on block of classes.json, for these models."""
        models = list(models)
        return {
            "profile": self.profile,
            "source": self.source,
            "data": TRAINING_DATA[self.source],
            "epochs": {name: self.epochs[name] for name in models},
            "note": self.note(models),
        }


def _epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def last_epoch(history: str | os.PathLike[str]) -> int:
    """The last epoch a training history records: the epochs the model trained."""
    return int(pd.read_csv(Path(history))["epoch"].iloc[-1])


def _batch(photo: Image.Image, size: int) -> np.ndarray:
    """The photo as the models take it: one (size, size, 3) float image of pixels 0..255."""
    return resized(photo, size)[None].astype(np.float32)


def segment(model: keras.Model, photo: Image.Image, size: int) -> np.ndarray:
    """The model's mask of the photo at the photo's resolution: 0 pet, 1 background, 2 border."""
    scores = np.asarray(model.predict_on_batch(_batch(photo, size)))
    labels = Image.fromarray(scores[0].argmax(axis=-1).astype(np.uint8))
    return np.asarray(labels.resize(photo.size, Image.Resampling.NEAREST))


def overlay(photo: Image.Image, mask: np.ndarray) -> np.ndarray:
    """The photo with each pixel tinted in its class's colour (the mask gallery's colours)."""
    colours = np.array([to_rgb(c) for c in CLASS_COLOURS], np.float32) * 255
    blended = (1 - OVERLAY_ALPHA) * np.asarray(photo, np.float32) + OVERLAY_ALPHA * colours[mask]
    return blended.round().astype(np.uint8)


def mask_palette() -> list[int]:
    """The PNG palette of a mask: index i in class i's colour (masks.png's), the rest black."""
    colours = [round(255 * c) for colour in CLASS_COLOURS for c in to_rgb(colour)]
    return colours + [0] * (768 - len(colours))


def write_mask(mask: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write a (H, W) mask as a palette PNG, atomically: values 0..2 kept, in class colours."""
    labels = np.asarray(mask)
    if labels.ndim != 2 or labels.size and (labels.min() < 0 or labels.max() > 2):
        raise ValueError(
            f"{path}: a mask is (H, W) labels 0..2, got shape {labels.shape} "
            f"and values {np.unique(labels)[:5].tolist()}"
        )
    image = Image.fromarray(labels.astype(np.uint8))
    image.putpalette(mask_palette())  # L becomes P: the same values, now indices into it
    with atomic(Path(path)) as tmp:
        image.save(tmp, format="PNG")


def classify(model: keras.Model, photo: Image.Image, size: int) -> dict:
    """A classifier's p(dog) and p(cat) for the photo, and its verdict (dog above 0.5)."""
    dog = float(np.asarray(model.predict_on_batch(_batch(photo, size))).reshape(-1)[0])
    return {DOG: dog, CAT: 1 - dog, "verdict": DOG if dog > 0.5 else CAT}


def _shown(photo: Image.Image, mask: np.ndarray) -> tuple[Image.Image, np.ndarray]:
    """The photo and its mask at most SHOWN_WIDTH wide, as masks.png draws them."""
    width, height = photo.size
    if width <= SHOWN_WIDTH:
        return photo, mask
    size = (SHOWN_WIDTH, max(1, round(height * SHOWN_WIDTH / width)))
    small = Image.fromarray(mask.astype(np.uint8)).resize(size, Image.Resampling.NEAREST)
    return photo.resize(size, Image.Resampling.LANCZOS), np.asarray(small)


def masks_figure(
    photo: Image.Image,
    masks: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    note: tuple[str, str] | None = None,
) -> None:
    """One row per segmentation model: the photo, the model's mask, the mask over the photo.

    note: (text, colour) of a line above the rows, saying what the models were trained on.
    """
    width, height = photo.size
    row = PANEL_INCHES * height / width + 0.3  # room for the titles
    colours = ListedColormap(CLASS_COLOURS)
    size = (3 * PANEL_INCHES, len(masks) * row + 0.4 + (0.3 if note else 0))  # and the legend
    with figure(path, figsize=size, layout="constrained") as fig:
        if note:
            fig.suptitle(note[0], color=note[1], fontsize=11, fontweight="bold")
        axes = np.asarray(fig.subplots(len(masks), 3, squeeze=False))
        for (name, mask), (left, middle, right) in zip(masks.items(), axes):
            pet = float(np.mean(mask == 0))
            shown, small = _shown(photo, mask)
            left.imshow(shown)
            middle.imshow(small, cmap=colours, vmin=0, vmax=2, interpolation="nearest")
            right.imshow(overlay(shown, small))
            titles = [f"photo ({width}x{height})", f"{name}: mask ({pet:.0%} pet)", "overlay"]
            for ax, title in zip((left, middle, right), titles):
                ax.set_title(title, fontsize=10)
                ax.set_axis_off()
        fig.legend(
            handles=[Patch(color=c, label=n) for c, n in zip(CLASS_COLOURS, TRIMAP_CLASSES)],
            loc="outside lower center",
            ncol=3,
            fontsize=9,
        )


def predict_photo(
    picture: Picture,
    segmenters: Mapping[str, Path],
    classifiers: Mapping[str, Path],
    sizes: tuple[int, int],
    masks_png: Path,
    classes_json: Path,
    mask_pngs: Mapping[str, Path],
    trained: TrainedOn,
) -> None:
    """Write masks.png, classes.json and each segmenter's full-size mask of a photo.

    segmenters, classifiers: model name -> model file; sizes (S, C); mask_pngs: segmenter
    name -> its mask PNG (mask_{model}.png beside masks.png); trained: what every model was
    trained on, which both masks.png (a line above the masks) and classes.json (trained_on)
    state. The photo is decoded first: one that is not a picture fails naming its config entry
    before any model is loaded.
    """
    if set(mask_pngs) != set(segmenters):
        raise ValueError(
            f"one mask file per segmenter: segmenters {list(segmenters)}, "
            f"mask files for {list(mask_pngs)}"
        )
    photo = picture.load()
    segmentation_size, classification_size = sizes
    masks = {
        name: segment(keras.models.load_model(path), photo, segmentation_size)
        for name, path in segmenters.items()
    }
    verdicts = {
        name: classify(keras.models.load_model(path), photo, classification_size)
        for name, path in classifiers.items()
    }
    for name, mask in masks.items():
        write_mask(mask, mask_pngs[name])
    note = (trained.note(segmenters), NOTE_COLOURS[trained.source])
    masks_figure(photo, masks, masks_png, note)
    width, height = photo.size
    write_json(
        {
            "width": width,
            "height": height,
            "trained_on": trained.as_json(classifiers),
            "classifiers": verdicts,
        },
        classes_json,
    )
