"""Early stopping on val_loss, read from a history's rows: where a training stops, its best epoch.

Keras's EarlyStopping(monitor="val_loss", patience=p, min_delta=0): an epoch improves when its
val_loss is below every earlier one's; training stops after the first epoch (never the first
of all) that ends p epochs without improvement. One difference: a val_loss that is not finite
(a diverged epoch) never improves, as it is never the best model either, where Keras would take
a NaN of the first epoch as its best for good. Computed from the rows alone, the same stop is
found by a run that trains straight through, one resumed, and one served from a kept state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _improvements(val_losses: Sequence[float]) -> list[bool]:
    """Whether each epoch's val_loss is finite and below every earlier finite one."""
    best, found = math.inf, []
    for loss in val_losses:
        better = math.isfinite(loss) and loss < best
        best = loss if better else best
        found.append(better)
    return found


def stop_epoch(val_losses: Sequence[float], patience: int | None) -> int | None:
    """The epoch (from 1) after which training stops early, None where these epochs go on."""
    if patience is None:
        return None
    wait = 0
    for epoch, better in enumerate(_improvements(val_losses), start=1):
        wait = 0 if better else wait + 1
        if wait >= patience and epoch > 1:
            return epoch
    return None


def best_epoch(val_losses: Sequence[float]) -> int | None:
    """The epoch (from 1) of the best model: the last improvement; None if none was finite."""
    found = [epoch for epoch, better in enumerate(_improvements(val_losses), 1) if better]
    return found[-1] if found else None


def served_epoch(
    val_losses: Sequence[float], finished: int, epochs: int, patience: int | None
) -> int | None:
    """The epoch a state of `finished` epochs answers a request with, None if it must train.

    val_losses are the state's rows from epoch 1 on. A training of `epochs` ends where it stops
    early or at `epochs`; if the state got that far, its outputs are that epoch's.
    """
    stop = stop_epoch(val_losses[: min(finished, epochs)], patience)
    if stop is not None:
        return stop
    return epochs if finished >= epochs else None


def record(val_losses: Sequence[float], epochs: int, patience: int | None) -> dict[str, Any]:
    """Where a training stopped, for metrics.json: the rows of its history, the epochs asked."""
    trained = len(val_losses)
    return {
        "epochs": epochs,
        "epochs_trained": trained,
        "best_epoch": best_epoch(val_losses),
        "stopped_early": trained < epochs,
        "patience": patience,
        "monitor": "val_loss",
    }
