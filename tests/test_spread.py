"""Seeds of one model: summaries against statistics recomputed here, seeds that learned, figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from snakevision.evaluation import spread
from snakevision.evaluation.metrics import (
    classification_metrics,
    majority_baseline,
    segmentation_metrics,
)
from snakevision.report import seeds_figure

SEEDS = [1, 2, 7]


def segmentation_file(path: Path, cm: list[list[int]], num_images: int = 4) -> Path:
    """A metrics.json as evaluation.segmentation writes it, from a confusion matrix."""
    baseline = majority_baseline(cm)
    scores = {
        **segmentation_metrics(cm),
        "num_images": num_images,
        "majority_baseline": {
            k: baseline[k] for k in ("majority_class", "pixel_accuracy", "mean_iou")
        },
    }
    path.write_text(json.dumps(scores))
    return path


def classification_file(path: Path, labels: list[int], scores: list[float]) -> Path:
    """A metrics.json as evaluation.classifier writes it."""
    path.write_text(json.dumps(classification_metrics(np.array(labels), np.array(scores))))
    return path


# Background is the most common true class (60 of 100 pixels): predicting it everywhere scores
# IoU 0.6 for background, 0 for the others, so mean IoU 0.2.
MAJORITY_ONLY = [[0, 30, 0], [0, 60, 0], [0, 10, 0]]
GOOD = [[25, 4, 1], [3, 55, 2], [2, 3, 5]]
FAIR = [[15, 14, 1], [5, 50, 5], [1, 6, 3]]


@pytest.fixture
def segmentation_seeds(tmp_path: Path) -> list[Path]:
    """Three seeds' metrics.json: one learned well, one fairly, one predicts background only."""
    return [
        segmentation_file(tmp_path / f"seed_{seed}.json", cm)
        for seed, cm in zip(SEEDS, [GOOD, FAIR, MAJORITY_ONLY])
    ]


def test_segmentation_summary_equals_statistics_recomputed_from_each_seed(
    segmentation_seeds: list[Path],
) -> None:
    found = spread.summary(SEEDS, segmentation_seeds)
    per_seed = [json.loads(p.read_text()) for p in segmentation_seeds]
    columns = {
        "pixel_accuracy": [s["pixel_accuracy"] for s in per_seed],
        "mean_iou": [s["mean_iou"] for s in per_seed],
        "foreground_iou": [s["foreground_iou"] for s in per_seed],
        **{f"iou_{c}": [s["iou"][c] for s in per_seed] for c in ("pet", "background", "border")},
    }
    assert list(found["metrics"]) == list(columns)
    assert found["task"] == "segmentation" and found["main_metric"] == "mean_iou"
    assert found["seeds"] == SEEDS and found["n"] == 3
    for metric, values in columns.items():
        entry = found["metrics"][metric]
        assert entry["values"] == {str(s): v for s, v in zip(SEEDS, values)}, metric
        assert entry["n"] == 3
        assert entry["mean"] == pytest.approx(np.mean(values))
        assert entry["sd"] == pytest.approx(np.std(values, ddof=1))
        assert (entry["min"], entry["max"]) == (min(values), max(values))
    # It survives JSON unchanged: seeds as string keys, sd null only where n is 1.
    assert json.loads(json.dumps(found)) == found


def test_one_seed_has_no_sd(segmentation_seeds: list[Path]) -> None:
    found = spread.summary([3], segmentation_seeds[:1])
    entry = found["metrics"]["mean_iou"]
    assert entry["n"] == 1 and entry["sd"] is None
    assert entry["mean"] == entry["min"] == entry["max"] == entry["values"]["3"]


def test_seeds_at_the_majority_class_did_not_learn(segmentation_seeds: list[Path]) -> None:
    found = spread.summary(SEEDS, segmentation_seeds)
    assert found["majority_score"] == {str(s): pytest.approx(0.6 / 3) for s in SEEDS}
    assert found["learned"] == 2  # GOOD and FAIR, not the all-background seed
    assert spread.learned_sentence(found) == "2 of 3 seeds learned more than the majority class"


def test_majority_class_of_segmentation_is_computed_from_the_confusion_matrix(
    tmp_path: Path,
) -> None:
    # The majority is pet here (50 %): all-pet scores mean IoU 0.5 / 3; one seed just above.
    just_above = [[50, 0, 0], [38, 2, 0], [10, 0, 0]]  # pet 50/98, background 2/40: mean 0.187
    just_below = [[50, 0, 0], [40, 0, 0], [10, 0, 0]]  # majority only: mean 0.5/3
    paths = [
        segmentation_file(tmp_path / "a.json", just_above),
        segmentation_file(tmp_path / "b.json", just_below),
    ]
    found = spread.summary([1, 2], paths)
    assert found["majority_score"]["2"] == pytest.approx(0.5 / 3)
    assert found["metrics"]["mean_iou"]["values"]["2"] == pytest.approx(0.5 / 3)
    assert found["learned"] == 1  # equal to the majority is not more


def test_classification_learned_means_accuracy_above_the_larger_class(tmp_path: Path) -> None:
    labels = [1, 1, 1, 0]  # dogs are 3 of 4: always "dog" scores 0.75
    paths = [
        classification_file(tmp_path / "all_dog.json", labels, [0.9, 0.8, 0.7, 0.6]),
        classification_file(tmp_path / "right.json", labels, [0.9, 0.8, 0.7, 0.1]),
        classification_file(tmp_path / "wrong.json", labels, [0.1, 0.8, 0.7, 0.6]),
    ]
    found = spread.summary([0, 1, 2], paths)
    assert found["task"] == "classification" and list(found["metrics"]) == ["accuracy", "auc"]
    assert found["majority_score"] == {"0": 0.75, "1": 0.75, "2": 0.75}
    assert found["metrics"]["accuracy"]["values"] == {"0": 0.75, "1": 1.0, "2": 0.5}
    assert found["learned"] == 1
    assert found["metrics"]["accuracy"]["sd"] == pytest.approx(np.std([0.75, 1, 0.5], ddof=1))


def test_an_undefined_iou_is_kept_but_not_counted(tmp_path: Path) -> None:
    no_border = [[30, 5, 0], [5, 60, 0], [0, 0, 0]]  # border in neither truth nor prediction
    paths = [
        segmentation_file(tmp_path / "a.json", no_border),
        segmentation_file(tmp_path / "b.json", GOOD),
    ]
    entry = spread.summary([1, 2], paths)["metrics"]["iou_border"]
    assert entry["values"]["1"] is None
    assert entry["n"] == 1 and entry["sd"] is None
    assert entry["mean"] == pytest.approx(5 / 13)


def test_mismatched_or_foreign_files_fail_naming_them(
    tmp_path: Path, segmentation_seeds: list[Path]
) -> None:
    with pytest.raises(ValueError, match="one metrics.json per seed"):
        spread.summary([1, 2], segmentation_seeds)
    with pytest.raises(ValueError, match="repeat"):
        spread.summary([1, 1, 2], segmentation_seeds)
    other = tmp_path / "history.json"
    other.write_text(json.dumps({"loss": 1.0}))
    with pytest.raises(ValueError, match=r"history\.json has neither"):
        spread.summary([1], [other])
    mixed = classification_file(tmp_path / "c.json", [0, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="different tasks"):
        spread.summary([1, 2], [segmentation_seeds[0], mixed])


def test_format_spread_with_one_and_several_seeds() -> None:
    several = spread.describe({"1": 0.5, "2": 0.7, "3": 0.6})
    assert spread.format_spread(several) == "0.600 ± 0.100 (3)"
    assert spread.format_spread(spread.describe({"4": 0.71234})) == "0.712"
    assert spread.format_spread(spread.describe({"4": None})) == "n/a"
    assert spread.learned_sentence({"learned": 1, "n": 1}) == (
        "1 of 1 seed learned more than the majority class"
    )


def test_read_summary_round_trips_and_refuses_other_json(
    tmp_path: Path, segmentation_seeds: list[Path]
) -> None:
    found = spread.summary(SEEDS, segmentation_seeds)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(found))
    assert spread.read_summary(path) == found
    with pytest.raises(ValueError, match=r"summary\.json of seeds"):
        spread.read_summary(segmentation_seeds[0])


def history(epochs: int, seed: int) -> pd.DataFrame:
    """A loss history whose validation loss bottoms out midway, differently per seed."""
    epoch = np.arange(1, epochs + 1)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "loss": 1.0 / epoch + rng.uniform(0, 0.05, epochs),
            "val_loss": 0.5 + 0.02 * (epoch - epochs / 2) ** 2 + rng.uniform(0, 0.1, epochs),
        }
    )


def test_seeds_figure_is_a_png_of_the_expected_size(
    tmp_path: Path, segmentation_seeds: list[Path]
) -> None:
    summaries = {
        "first": spread.summary(SEEDS, segmentation_seeds),
        "second": spread.summary(SEEDS[:2], segmentation_seeds[:2]),
    }
    histories = {
        "first": {s: history(10, s) for s in SEEDS},
        "second": {s: history(8 + s, s) for s in SEEDS[:2]},  # seeds ran different lengths
    }
    path = tmp_path / "seeds.png"
    seeds_figure.draw(summaries, histories, {"first": 0.5, "second": None}, path)
    with Image.open(path) as image:
        image.load()
        # 4.5 + 4 inches per model at 100 dpi, trimmed or grown a little by the tight box.
        assert image.width == pytest.approx(100 * (4.5 + 4 * 2), rel=0.1)
        assert image.height == pytest.approx(520, rel=0.15)
        assert np.asarray(image.convert("L")).std() > 10  # drawn on, not blank
    assert not list(tmp_path.glob(".tmp-*"))


def test_seeds_figure_values_are_each_seeds_score_the_mean_and_the_bars(
    segmentation_seeds: list[Path],
) -> None:
    summaries = {
        "first": spread.summary(SEEDS, segmentation_seeds),
        "second": spread.summary(SEEDS[:1], segmentation_seeds[:1]),
    }
    histories = {
        "first": {s: history(10, s) for s in SEEDS},
        "second": {SEEDS[0]: history(7, 0)},
    }
    shown = seeds_figure.figure_values(summaries, histories, {"first": 0.5, "second": None})
    scores = [json.loads(p.read_text())["mean_iou"] for p in segmentation_seeds]
    assert shown.seeds == ["1", "2", "7"] and shown.label == "mean IoU"
    first, second = shown.models
    # One dot per seed, spread around the model's column, at the seed's own score.
    assert [(seed, value) for _, seed, value in first.points] == list(zip(["1", "2", "7"], scores))
    assert [x for x, _, _ in first.points] == pytest.approx([-0.15, 0.0, 0.15])
    assert [(x, seed) for x, seed, _ in second.points] == [(1.0, "1")]
    assert first.mean == pytest.approx(np.mean(scores)) and second.mean == scores[0]
    # Background everywhere scores mean IoU 0.2 on the MAJORITY_ONLY matrix, the highest here.
    assert first.majority == pytest.approx(max(summaries["first"]["majority_score"].values()))
    assert (first.book, second.book) == (0.5, None)
    assert first.tick.splitlines() == [
        "first",
        spread.format_spread(summaries["first"]["metrics"]["mean_iou"]),
        f"{summaries['first']['learned']} of 3 learned",
    ]
    # Each seed's curves as recorded, and their mean per epoch.
    assert list(first.losses) == ["1", "2", "7"]
    pd.testing.assert_frame_equal(first.losses["2"], histories["first"][2])
    expected = np.mean([histories["first"][s]["val_loss"] for s in SEEDS], axis=0)
    np.testing.assert_allclose(first.mean_losses["val_loss"].to_numpy(), expected)
    assert first.title == "first: loss of 3 seeds" and second.title == "second: loss of 1 seed"
    assert shown.title == "Segmentation: each seed's mean IoU and its loss curves (3 seeds)"


def test_mean_curve_averages_the_epochs_every_seed_ran() -> None:
    runs = {"1": history(4, 1), "2": history(6, 2)}
    mean = seeds_figure._mean_curve(runs, "val_loss")
    assert list(mean.index) == [1, 2, 3, 4]
    expected = (runs["1"]["val_loss"].to_numpy() + runs["2"]["val_loss"].to_numpy()[:4]) / 2
    np.testing.assert_allclose(mean.to_numpy(), expected)


def test_a_metrics_file_missing_a_headline_metric_says_which(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"accuracy": 0.9, "confusion_matrix": [[1, 0], [0, 1]]}))
    with pytest.raises(ValueError, match=r"old\.json lacks \['auc'\].*rerun its evaluation"):
        spread.summary([1], [old])
