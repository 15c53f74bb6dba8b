"""Runs: what a task's `models` names. A run is an architecture of the catalog and its recipe.

A run's train section names its `architecture` (by default the run's own name) and gives only
what differs from that architecture's own section, which it inherits the rest from. A `sweep`
of lists expands into one run per combination, as Snakemake's Paramspace does, each named
`<run>~<key>=<value>~...`. Every later stage reads runs from here, resolved.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from snakevision.models import catalog
from snakevision.models.tasks import TASKS
from snakevision.training.batch_sizes import training_mem_mb

# Keys of a run's section that are no training setting.
OWN = ("architecture", "sweep")
# A written run name; the names a sweep gives add ~key=value parts.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Run:
    """One run of a task: its name (its folder), its architecture and its resolved settings."""

    name: str
    task: str
    architecture: str
    settings: dict[str, Any]  # the whole train section: the architecture's, then the run's own
    differs: dict[str, Any] = field(default_factory=dict)  # what differs from the architecture's
    key: str = ""  # the config key of its section, for messages: segmentation.train.book_adam

    @property
    def seeds(self) -> list[int]:
        """Its seeds: one training each; later stages use the first."""
        return list(self.settings["seeds"])

    def seed_settings(self, seed: int) -> dict[str, Any]:
        """One training's settings: the run's, with this seed in place of the list."""
        if seed not in self.seeds:
            raise ValueError(f"seed {seed} is not among {self.key}.seeds {self.seeds}")
        return {**{k: v for k, v in self.settings.items() if k != "seeds"}, "seed": seed}

    def record(self) -> dict[str, Any]:
        """What the front page says of it: task, architecture, recipe (what differs), its length,
        and the book's figure for its architecture."""
        keys = ("epochs", "batch_size", "patience", "seeds")
        return {
            "task": self.task,
            "architecture": self.architecture,
            "recipe": self.recipe(),
            **{key: self.settings.get(key) for key in keys},
            "published": catalog.published(self.architecture),
        }

    def recipe(self) -> str:
        """What differs from its architecture's section, 'optimizer adam, batch_size 16' ('' if
        nothing does)."""
        return ", ".join(f"{k} {v}" for k, v in self.differs.items())


def _value(value: Any) -> str:
    """A sweep value as a run name shows it."""
    return str(value).replace("/", "_")


def _differences(settings: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Settings whose values differ from the architecture's section (seeds left out)."""
    return {k: v for k, v in settings.items() if k != "seeds" and base.get(k) != v}


def task_runs(config: Mapping[str, Any], task: str) -> dict[str, Run]:
    """The task's runs in `models` order, sweeps expanded; assumes a config that passed check."""
    train = config[task]["train"]
    found: dict[str, Run] = {}
    for name in config[task]["models"]:
        section = train[name]
        architecture = section.get("architecture", name)
        base = train[architecture]
        own = {k: v for k, v in section.items() if k not in OWN}
        settings = {**base, **own}
        key = f"{task}.train.{name}"
        sweep = section.get("sweep") or {}
        # No sweep: one combination, the empty one, named as written.
        for values in itertools.product(*sweep.values()):
            chosen = dict(zip(sweep, values))
            run = "~".join([name, *(f"{k}={_value(v)}" for k, v in chosen.items())])
            combined = {**settings, **chosen}
            found[run] = Run(run, task, architecture, combined, _differences(combined, base), key)
    return found


def all_runs(config: Mapping[str, Any]) -> dict[str, dict[str, Run]]:
    """task -> run name -> Run, for every task."""
    return {task: task_runs(config, task) for task in TASKS}


def problems(config: Mapping[str, Any]) -> list[str]:
    """What makes the tasks' runs unusable, one line each naming the key and the fix."""
    found = []
    names: dict[str, str] = {}  # run name -> the task whose models list it
    for task in TASKS:
        train, models = config[task]["train"], config[task]["models"]
        others = [m for t in TASKS if t != task for m in catalog.trained(t)]
        for name, section in train.items():
            key = f"{task}.train.{name}"
            architecture = section.get("architecture", name)
            if name in others:
                found.append(
                    f"{key}: {name} is an architecture of {catalog.task_of(name)}; name "
                    f"{task}'s run otherwise (e.g. {name}_{task})"
                )
            elif architecture not in catalog.trained(task):
                found.append(
                    f"{key}.architecture ({architecture}): no {task} architecture of that name; "
                    f"allowed: {', '.join(catalog.trained(task))}"
                )
            elif architecture not in train:
                found.append(
                    f"{key}.architecture ({architecture}): {task}.train.{architecture}, the "
                    "section the run inherits from, is missing; add it"
                )
        for i, name in enumerate(models):
            if name not in train:
                found.append(
                    f"{task}.models[{i}] ({name}): no such run; add {task}.train.{name} "
                    f"(defined: {', '.join(train)})"
                )
            elif name in names:
                found.append(
                    f"{task}.models[{i}] ({name}): {names[name]}.models lists it too; "
                    "run names must differ"
                )
            names[name] = task
    return found


def _plain_or_first(runs: Mapping[str, Run]) -> list[str]:
    """The runs named after their architecture, else the first run: what a later stage uses."""
    return [n for n, run in runs.items() if n == run.architecture] or list(runs)[:1]


def chosen(runs: Mapping[str, Mapping[str, Run]], listed: list[str] | None) -> dict[str, list]:
    """task -> the runs a later stage (interpretation, predict) uses: those listed, in the
    order listed, or by default each task's runs named after their architecture (else its
    first run), so that a sweep does not multiply the later jobs."""
    if listed is None:
        return {task: _plain_or_first(found) for task, found in runs.items()}
    return {task: [name for name in listed if name in found] for task, found in runs.items()}


def listing_problems(
    runs: Mapping[str, Mapping[str, Run]], listed: list[str] | None, key: str, extra: tuple = ()
) -> list[str]:
    """Names in a later stage's list of runs (interpretation.models, predict.models) that no
    task's models has; extra: other names the list may hold (xception_imagenet)."""
    known = [name for found in runs.values() for name in found]
    return [
        f"{key}[{i}] ({name}): no run of that name; allowed: {', '.join([*known, *extra])}"
        for i, name in enumerate(listed or [])
        if name not in known and name not in extra
    ]


def _training_mem_mb(run: Run, size: int) -> int:
    """Host memory (MB) the run's training job asks for (training.batch_sizes)."""
    model = catalog.MODELS[run.architecture]
    settings, norm = run.settings, model.batch_norm
    return training_mem_mb(model.mb_per_image, model.mb_size, settings, norm, size)


def lookup_table(
    runs: Mapping[str, Mapping[str, Run]], sizes: Mapping[str, int]
) -> dict[str, dict[str, dict]]:
    """task -> run -> what rules look up by wildcards (Snakemake's lookup(dpath=...)): its
    architecture, seeds, length (epochs, patience), batch (the size and its config key), the
    host memory its training asks for at the task's image size, and the book's published
    figure for its architecture."""
    return {
        task: {
            name: {
                "architecture": run.architecture,
                "seeds": run.seeds,
                "length": {k: run.settings.get(k) for k in ("epochs", "patience")},
                "batch": {"key": run.key, "batch_size": run.settings["batch_size"]},
                "mem_mb": _training_mem_mb(run, sizes[task]),
                "published": catalog.published(run.architecture),
            }
            for name, run in found.items()
        }
        for task, found in runs.items()
    }
