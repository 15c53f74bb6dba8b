"""What every figure shares: headless drawing, saving atomically, the mask classes' colours."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from snakevision.files import atomic

# Jobs run headless (cluster nodes, CI): Agg never tries to open a window. pyplot picks its
# backend when it draws the first figure, so setting it after the import is in time.
matplotlib.use("Agg")

DPI = 100
# Overlay colours per mask class (pet, background, border), drawn semi-transparent.
CLASS_COLOURS = ("#ff7f0e", "#1f77b4", "#ffe119")
OVERLAY_ALPHA = 0.45


@contextmanager
def figure(path: str | os.PathLike[str], **kwargs: Any) -> Iterator[Figure]:
    """Yield a new figure, then save it to `path` atomically; always close it.

    If drawing or saving fails, neither `path` nor a temp file is left behind, so Snakemake
    never sees a half-written figure as done.
    """
    fig = plt.figure(**kwargs)
    try:
        yield fig
        with atomic(Path(path)) as tmp:  # same name ending: savefig picks the format from it
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
