"""Grad-CAM focus: how much of each heatmap falls on the pet, by the trimap, per layer rule.

For each classifier of a finished workflow run and each Grad-CAM picture of the test split
(the first --per-species cats and dogs, as interpretation.test_images picks them), the heatmap
is resized to the picture as the overlay is (bilinear) and compared with the picture's trimap
(value 1 = pet): "heat on pet" is the heat's share on pet pixels, "pet share" the pet's share
of the picture, "focus" their ratio (1: no better than spreading the heat evenly). Each rule
picks the explained layer: previous (the last map of more than one cell, the default before
the 7x7 rule) and current (layers.gradcam_layer: the last map at least 7 cells a side).

    python bench/gradcam_focus.py --workdir /tmp/base                  # the demo's 1 + 1
    python bench/gradcam_focus.py --workdir /tmp/base --per-species 30  # the whole test split
"""

from __future__ import annotations

import argparse
from pathlib import Path

import _common as common
import numpy as np
from PIL import Image

COLUMNS = [
    ("model", "model", "s"),
    ("rule", "rule", "s"),
    ("layer", "layer", "s"),
    ("map", "map", "s"),
    ("picture", "picture", "s"),
    ("explained", "explained (p)", "s"),
    ("pet_share", "pet share", ".3f"),
    ("heat_on_pet", "heat on pet", ".3f"),
    ("focus", "focus", ".2f"),
]
SUMMARY = [
    ("model", "model", "s"),
    ("rule", "rule", "s"),
    ("layer", "layer", "s"),
    ("map", "map", "s"),
    ("pictures", "pictures", "d"),
    ("pet_share", "mean pet share", ".3f"),
    ("heat_on_pet", "mean heat on pet", ".3f"),
    ("focus", "mean focus", ".2f"),
    ("better", "focus > 1", "s"),
]


def heat_on_pet(heatmap: np.ndarray, trimap: np.ndarray) -> float:
    """Share of the heat, resized to the trimap's size (bilinear), that lies on pet pixels."""
    height, width = trimap.shape
    heat = Image.fromarray(heatmap.astype("float32"), mode="F")
    heat = np.asarray(heat.resize((width, height), Image.Resampling.BILINEAR), dtype="float64")
    total = heat.sum()
    return float(heat[trimap == 1].sum() / total) if total > 0 else float("nan")


def main() -> None:
    """Explain each model's test pictures with each layer rule; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("."), help="a finished run")
    parser.add_argument("--seed", type=int, default=1337, help="the training seed explained")
    parser.add_argument("--models", nargs="+", default=["convnet", "mini_xception"])
    parser.add_argument("--per-species", type=int, default=1, help="test cats and dogs each")
    parser.add_argument("--rules", nargs="+", default=["previous", "current"])
    args = parser.parse_args()

    import keras
    from snakevision.data import pictures
    from snakevision.data.images import open_trimap, resized
    from snakevision.files import read_csv
    from snakevision.interpretation import gradcam, layers
    from snakevision.labels import SPECIES

    rules = {"previous": layers.last_spatial_layer, "current": layers.gradcam_layer}
    data = args.workdir / "results/data"
    chosen = pictures.from_test_split(
        read_csv(data / "index.csv"), read_csv(data / "split.csv"), args.per_species
    )
    rows, summary = [], []
    for model_name in args.models:
        model = keras.models.load_model(
            args.workdir / f"results/classification/{model_name}/seed_{args.seed}/model.keras"
        )
        size = model.input.shape[1]
        for rule in args.rules:
            layer = rules[rule](model)
            shape = "x".join(str(n) for n in layer.output.shape[1:3])
            found = []
            for picture in chosen:
                image = Image.open(args.workdir / picture.path).convert("RGB")
                trimap_path = args.workdir / (
                    f"resources/oxford_pets/annotations/trimaps/{picture.name}.png"
                )
                trimap = np.asarray(open_trimap(trimap_path))
                explanation = gradcam.explain(
                    model, gradcam.as_float(resized(image, size)), layer.name
                )
                pet = float((trimap == 1).mean())
                on_pet = heat_on_pet(explanation.heatmap, trimap)
                chosen_class = explanation.explained
                probability = explanation.probabilities[chosen_class]
                row = {
                    "model": model_name,
                    "rule": rule,
                    "layer": layer.name,
                    "map": shape,
                    "picture": picture.name,
                    "explained": f"{SPECIES[chosen_class]} ({probability:.2f})",
                    "pet_share": pet,
                    "heat_on_pet": on_pet,
                    "focus": on_pet / pet,
                }
                rows.append(row)
                found.append(row)
            summary.append(
                {
                    "model": model_name,
                    "rule": rule,
                    "layer": layer.name,
                    "map": shape,
                    "pictures": len(found),
                    **{
                        key: float(np.nanmean([r[key] for r in found]))
                        for key in ("pet_share", "heat_on_pet", "focus")
                    },
                    "better": f"{sum(r['focus'] > 1 for r in found)}/{len(found)}",
                }
            )
    print(
        f"Grad-CAM focus on the pet, {args.workdir}, Keras {keras.__version__} "
        f"({keras.backend.backend()})\n"
    )
    print(common.table(rows, COLUMNS))
    print()
    print(common.table(summary, SUMMARY))


if __name__ == "__main__":
    main()
