"""What interpretation explains of each model: its pictures and layers, from the config section.

Keras-free: the rules read it when snakemake starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from snakevision.data import pictures


def layers_of(section: Mapping[str, Any], model: str, architecture: str | None) -> Any:
    """A part's (filters, gradcam) layers of a run, else of its architecture; None if neither."""
    layers = section["layers"]
    return layers.get(model, layers.get(architecture) if architecture else None)


def plan(
    interpretation: Mapping[str, Any],
    models: Sequence[str],
    runs: Mapping[str, Any],
    imagenet: str,
    folder: str,
) -> dict[str, dict[str, Any]]:
    """model -> what its jobs read and are told: the test pictures per species and the pictures
    config lists for it (by key),
    where they are read (URLs fetched into folder), the local ones' sha256 (new content at the
    same path reruns the job), whether it explains anything, its Grad-CAM settings and the
    layers whose filters it draws. models: the runs explained and the ImageNet Xception, which
    also explains interpretation.imagenet.images; runs: classification's (config.runs.Run)."""
    found = {}
    for model in models:
        architecture = runs[model].architecture if model in runs else None
        entries = {"interpretation.images": interpretation["images"]}
        if model == imagenet:
            entries["interpretation.imagenet.images"] = interpretation["imagenet"]["images"]
        listed: Sequence[str] = [entry for group in entries.values() for entry in group]
        found[model] = {
            "imagenet": model == imagenet,
            "pictures": {"test_images": interpretation["test_images"], "entries": entries},
            "paths": [pictures.local_path(entry, folder) for entry in listed],
            "content": {
                entry: pictures.content_hash(entry)
                for entry in listed
                if not pictures.is_url(entry)
            },
            "explains": interpretation["test_images"] > 0 or bool(listed),
            "gradcam": {
                "layer": layers_of(interpretation["gradcam"], model, architecture),
                "top": interpretation["gradcam"]["top"],
            },
            "filters": layers_of(interpretation["filters"], model, architecture) or [],
        }
    return found
