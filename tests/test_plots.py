"""Each figure writes a valid PNG, and a failed plot leaves nothing behind."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from snakevision import files
from snakevision.report import plots

RNG = np.random.default_rng(0)
N, SIZE = 3, 32


def images() -> np.ndarray:
    """Random RGB images (N, SIZE, SIZE, 3) uint8."""
    return RNG.integers(0, 256, size=(N, SIZE, SIZE, 3), dtype=np.uint8)


def masks(channel: bool = False) -> np.ndarray:
    """Random labels 0..2, optionally with the contract's trailing channel axis."""
    shape = (N, SIZE, SIZE, 1) if channel else (N, SIZE, SIZE)
    return RNG.integers(0, 3, size=shape, dtype=np.uint8)


def history(epochs: int = 8) -> pd.DataFrame:
    """A training history whose validation loss bottoms out at epoch 4."""
    epoch = np.arange(1, epochs + 1)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "loss": 1.0 / epoch,
            "val_loss": 0.5 + 0.05 * (epoch - 4) ** 2,
            "accuracy": 1 - 0.5 / epoch,
            "val_accuracy": 0.8 - 0.01 * (epoch - 4) ** 2,
            "mean_iou": 0.6 - 0.3 / epoch,
            "val_mean_iou": 0.5 - 0.01 * (epoch - 4) ** 2,
            "lr": 1e-3,
        }
    )


def diverged_history(folder: Path) -> pd.DataFrame:
    """history() with a NaN epoch, as training.fit writes it and the plot rules read it back."""
    frame = history()
    frame.loc[5, ["loss", "val_loss", "accuracy", "val_accuracy"]] = np.nan
    files.write_csv(frame, folder / "history.csv")
    read = files.read_history(folder / "history.csv")
    assert read.val_loss.isna().sum() == 1 and read.val_loss.dtype == float
    return read


CASES: dict[str, Callable[[Path], None]] = {
    "overview": lambda p: plots.overview(
        images(), masks(), pd.DataFrame({"count": [2371, 4978]}, index=["cat", "dog"]), p
    ),
    "overview_by_split": lambda p: plots.overview(
        images(),
        masks(channel=True),
        pd.DataFrame({"train": [1500, 3000], "val": [300, 700]}, index=["cat", "dog"]),
        p,
    ),
    "segmentation_curves": lambda p: plots.training_curves(history(), p, "mean_iou", "book"),
    "mask_gallery": lambda p: plots.mask_gallery(
        images(), masks(channel=True), {"book": (masks(), [0.5, 0.75, 0.9])}, p
    ),
    "mask_gallery_of_two_models": lambda p: plots.mask_gallery(
        images(), masks(), {"book": (masks(), [0.5, 0.7, 0.9]), "unet": (masks(), [0.6, 0.8, 1])}, p
    ),
    "classifier_curves": lambda p: plots.training_curves(history(), p, "accuracy", "convnet"),
    "segmentation_curves_diverged_epoch": lambda p: plots.training_curves(
        diverged_history(p.parent.parent), p, "mean_iou", "book"
    ),
    "classifier_curves_diverged_epoch": lambda p: plots.training_curves(
        diverged_history(p.parent.parent), p, "accuracy", "convnet"
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_writes_png(tmp_path: Path, name: str) -> None:
    """The file is a PNG of a sensible size; no temp file or open figure is left."""
    path = tmp_path / "sub" / f"{name}.png"
    CASES[name](path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 300 and image.height > 200
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert plt.get_fignums() == []
    # Same permissions as any new file here: a temp file's 0600 must not leak through.
    plain = tmp_path / "plain"
    plain.touch()
    assert path.stat().st_mode == plain.stat().st_mode


def test_a_failed_drawing_leaves_no_file(tmp_path: Path) -> None:
    """An error while drawing writes nothing and leaves no figure open."""
    with pytest.raises(KeyError, match="val_loss"):
        plots.training_curves(
            history().drop(columns="val_loss"), tmp_path / "out.png", "accuracy", "convnet"
        )
    assert list(tmp_path.iterdir()) == []
    assert plt.get_fignums() == []


def test_failed_save_leaves_no_partial_file(tmp_path: Path, monkeypatch: Any) -> None:
    """A crash halfway through writing removes the temp file and keeps an older target intact."""
    path = tmp_path / "loss.png"
    path.write_bytes(b"old")

    def broken_savefig(self: Figure, fname: str, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plots.training_curves(history(), path, "accuracy", "convnet")
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == b"old"
    assert plt.get_fignums() == []
