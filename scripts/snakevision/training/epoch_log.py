"""Each epoch's history row, log line and console line, in an order a kill cannot break.

An epoch's history row and log line are written to its state folder first, then its
checkpoints, and only then the line in the job's log and on the console. A line in the log
therefore always names an epoch that a rerun keeps. The lines of epochs trained by an earlier
job are replayed into the log (Snakemake deletes a job's log before it runs it again), marked
as such; the console shows only the epochs this job trains.
"""

from __future__ import annotations

import logging
import math
import re
import time
from pathlib import Path

import keras
import pandas as pd

from snakevision.job import console
from snakevision.training import stopping
from snakevision.training.checkpoints import Checkpoints
from snakevision.training.states import AFRESH, LINES, durable

log = logging.getLogger(__name__)


class EpochLog(keras.callbacks.Callback):
    """One history row and log line per epoch, kept in the state folder so that a later job
    continues them; with checkpoints, it saves them between the row and the line.

    The order is the callback's own, not the callbacks list's (see the module). console is
    the (history column, name) the console line shows, patience the early stopping's, which
    stops the training from the rows (snakevision.training.stopping).
    """

    def __init__(
        self,
        path: Path,
        num_images: int,
        policy: str,
        micro_batches: int = 1,
        checkpoints: Checkpoints | None = None,
        console: tuple[str, str] | None = None,
        patience: int | None = None,
    ) -> None:
        super().__init__()
        self.path, self.num_images, self.policy = Path(path), num_images, policy
        self.micro_batches, self.checkpoints = micro_batches, checkpoints
        self.console, self.patience = console, patience
        self.lines_path = self.path.with_name(LINES)
        self.rows = pd.read_csv(self.path).to_dict("records") if self.path.exists() else []
        self.lines = self.lines_path.read_text().splitlines() if self.lines_path.exists() else []
        self.seconds: list[float] = []  # of the epochs this job trained
        self._first = True

    def set_model(self, model: keras.Model) -> None:
        super().set_model(model)
        if self.checkpoints is not None:
            self.checkpoints.set_model(model)

    def _keep(self, epochs: int) -> None:
        """Forget the rows and lines past the first epochs: the resume state never had them."""
        self.rows = [r for r in self.rows if r["epoch"] <= epochs]
        self.lines = [line for line in self.lines if _epoch_of_line(line) <= epochs]

    def val_losses(self, epochs: int) -> list[float]:
        """The val_loss of the first epochs; ValueError if the rows lack one of them."""
        found = {int(r["epoch"]): float(r.get("val_loss", math.nan)) for r in self.rows}
        missing = [e for e in range(1, epochs + 1) if e not in found]
        if missing:
            raise ValueError(f"{self.path.name} lacks the rows of epochs {missing}")
        return [found[e] for e in range(1, epochs + 1)]

    def _replay(self, epochs: int, when: str) -> None:
        for line in self.lines:
            if _epoch_of_line(line) <= epochs:
                logged, message = line.split("\t", 1)
                log.info("%s (logged %s, %s)", message, logged, when)

    def begin(self, start: int, epochs: int, why: str = "") -> None:
        """Log where training starts: after the start epochs done, replayed as logged, or at 1."""
        self._keep(start)
        if not start:
            # A discarded state is worth a warning: the work it held is lost.
            level = logging.WARNING if why.startswith(AFRESH) else logging.INFO
            why = why or f"the state in {self.path.parent} has no finished epoch"
            log.log(level, "nothing to resume: starting at epoch 1 (%s)", why)
            return
        console.say(f"resuming from epoch {start + 1} of {epochs} (state in {self.path.parent})")
        log.info("the epochs before, as logged then:")
        self._replay(start, "before the resume")

    def serve(self, epoch: int, epochs: int) -> list[dict]:
        """Log that a state's first epochs answer this request, nothing trained; their rows."""
        folder, done = self.path.parent, len([r for r in self.rows if r["epoch"] <= epoch])
        if epoch < epochs:
            what = (
                f"training stopped early at epoch {epoch} of {epochs} (val_loss had not improved "
                f"for {self.patience} epochs) before"
            )
        else:
            what = f"all {epochs} epochs were trained before"
        console.say(
            f"{what} (state in {folder}): outputs written from it, nothing trained; to train "
            "afresh, delete that folder"
        )
        log.info("the %d epoch(s) served, as logged then:", done)
        self._replay(epoch, "from the state")
        return [r for r in self.rows if r["epoch"] <= epoch]

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if self._first:
            # The first epoch run is where training resumes: rows past it were never backed up.
            self._keep(epoch)
            self._first = False
        self.start = self.train_end = time.perf_counter()

    def on_test_begin(self, logs=None) -> None:
        # On JAX the host queues steps ahead of the device: reading the step counter waits for
        # the last one, so that the epoch's training time ends where its validation begins.
        keras.ops.convert_to_numpy(self.model.optimizer.iterations)
        self.train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        end = time.perf_counter()
        train_seconds = (self.train_end if self.train_end > self.start else end) - self.start
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        row.update(
            seconds=round(end - self.start, 3),
            images_per_s=round(self.num_images / train_seconds, 2),
            precision=self.policy,
            micro_batches=self.micro_batches,
        )
        shown = ", ".join(
            f"{k} {v:.4f}"
            for k, v in row.items()
            if isinstance(v, float) and k not in ("seconds", "images_per_s")
        )
        message = (
            f"epoch {epoch + 1}/{self.params['epochs']}: {shown}, {row['seconds']:.1f} s, "
            f"{row['images_per_s']:.1f} images/s"
        )
        self.rows.append(row)
        self.lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')}\t{message}")
        with durable(self.path) as tmp:
            pd.DataFrame(self.rows).to_csv(tmp, index=False)
        with durable(self.lines_path) as tmp:
            tmp.write_text("".join(f"{line}\n" for line in self.lines))
        if self.checkpoints is not None:
            self.checkpoints.on_epoch_end(epoch, logs)
        log.info("%s", message)
        self.seconds.append(row["seconds"])
        stopped = (
            self.patience is not None
            and stopping.stop_epoch(self.val_losses(epoch + 1), self.patience) == epoch + 1
        )
        if stopped:
            self.model.stop_training = True
        console.say(self.progress(epoch + 1, self.params["epochs"], stopped))

    def progress(self, epoch: int, epochs: int, stopped: bool) -> str:
        """The console's line for an epoch just finished: its main metric and the time left."""
        parts = [f"epoch {epoch}/{epochs}:"]
        if self.console and self.console[0] in self.rows[-1]:
            column, name = self.console
            values = [r.get(column, math.nan) for r in self.rows]
            best = max((v for v in values if math.isfinite(v)), default=math.nan)
            parts.append(f"{name} {values[-1]:.3f} (best {best:.3f}),")
        per_epoch = per_epoch_seconds(self.seconds)
        parts.append(f"{per_epoch:.1f} s/epoch,")
        if stopped:
            losses = self.val_losses(epoch)
            parts.append(
                f"stopping early: val_loss has not improved for {self.patience} epochs "
                f"(best at epoch {stopping.best_epoch(losses)})"
            )
        elif epoch >= epochs:
            parts.append("done")
        else:
            about = "at most" if self.patience is not None else "about"
            parts.append(f"{about} {duration(per_epoch * (epochs - epoch))} left")
        return " ".join(parts)

    def best_val_loss(self, epochs: int) -> float | None:
        """The lowest val_loss of the first epochs, None if none was recorded."""
        losses = [r.get("val_loss", math.nan) for r in self.rows if r["epoch"] <= epochs]
        finite = [loss for loss in losses if math.isfinite(loss)]
        return min(finite) if finite else None


def per_epoch_seconds(seconds: list[float]) -> float:
    """An epoch's expected time: the mean of a job's epochs, its first (which includes the
    compilation) left out once later ones exist."""
    kept = seconds[1:] or seconds
    return sum(kept) / len(kept)


def duration(seconds: float) -> str:
    """A time left, rounded as a person reads it: 40 s, 48 min, 2 h 05 min."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _epoch_of_line(line: str) -> int:
    """The epoch a stored log line is about ("<time>\tepoch 3/6: ..."); 0 for no such line."""
    found = re.search(r"\tepoch (\d+)/", line)
    return int(found.group(1)) if found else 0
