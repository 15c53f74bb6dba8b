"""Metrics against confusion matrices and scores worked out by hand."""

import json

import numpy as np
import pytest
from snakevision.evaluation.metrics import (
    ConfusionAccumulator,
    classification_metrics,
    confusion_matrix,
    majority_baseline,
    per_image_iou,
    segmentation_metrics,
)

# A 3x3 "image": truth has all three classes; the prediction gets 6 of 9 pixels right.
TRUTH = np.array([[0, 0, 1], [0, 1, 1], [2, 2, 1]])
PRED = np.array([[0, 1, 1], [0, 1, 2], [2, 0, 1]])
# Pairs (truth, pred): (0,0)x2 (0,1) (1,1)x3 (1,2) (2,2) (2,0)
EXPECTED_CM = [[2, 1, 0], [0, 3, 1], [1, 0, 1]]


def test_confusion_matrix_by_hand() -> None:
    """Rows are truth, columns prediction."""
    cm = confusion_matrix(TRUTH, PRED, 3)
    assert cm.dtype == np.int64
    assert cm.tolist() == EXPECTED_CM


def test_segmentation_metrics_by_hand() -> None:
    """IoU = TP / (TP + FP + FN) per class, worked out from EXPECTED_CM."""
    m = segmentation_metrics(np.array(EXPECTED_CM))
    # pet: TP 2, FP 1 (col) , FN 1 (row) -> 2/4; background: 3/(3+1+1) = 3/5;
    # border: 1/(1+1+1) = 1/3.
    assert m["iou"] == pytest.approx({"pet": 0.5, "background": 0.6, "border": 1 / 3})
    assert m["mean_iou"] == pytest.approx((0.5 + 0.6 + 1 / 3) / 3)
    assert m["foreground_iou"] == pytest.approx(0.5)
    assert m["pixel_accuracy"] == pytest.approx(6 / 9)
    assert m["recall"] == pytest.approx({"pet": 2 / 3, "background": 3 / 4, "border": 1 / 2})
    assert m["num_pixels"] == 9
    assert m["confusion_matrix"] == EXPECTED_CM
    json.dumps(m)  # plain Python types only


def test_class_absent_from_truth_but_predicted_scores_zero() -> None:
    """A class never in the truth but predicted has IoU 0 and counts in the mean."""
    truth = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])
    m = segmentation_metrics(confusion_matrix(truth, pred, 3))
    # pet 1/2, background 2/2, border 0/1
    assert m["iou"] == pytest.approx({"pet": 0.5, "background": 1.0, "border": 0.0})
    assert m["mean_iou"] == pytest.approx(0.5)
    assert m["recall"]["border"] is None


def test_class_absent_altogether_is_null_and_excluded() -> None:
    """A class in neither truth nor prediction is None and left out of the mean."""
    truth = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    m = segmentation_metrics(confusion_matrix(truth, pred, 3))
    # pet 1/2, background 2/3, border absent
    assert m["iou"]["border"] is None
    assert m["mean_iou"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert "NaN" not in json.dumps(m)
    assert json.loads(json.dumps(m))["iou"]["border"] is None


def test_accumulation_over_batches_equals_one_shot() -> None:
    """Summing batches, one with a class missing, gives the whole set's matrix."""
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=(10, 8, 8))
    pred = rng.integers(0, 3, size=(10, 8, 8))
    truth[7:] = np.where(truth[7:] == 2, 0, truth[7:])  # last batch has no border in truth
    acc = ConfusionAccumulator(3)
    for start in range(0, 10, 4):
        acc.update(truth[start : start + 4], pred[start : start + 4])
    np.testing.assert_array_equal(acc.matrix, confusion_matrix(truth, pred, 3))
    assert acc.num_images == 10
    assert acc.matrix.sum() == truth.size


def test_accumulator_matrix_is_a_copy() -> None:
    """Changing the returned matrix does not change the running counts."""
    acc = ConfusionAccumulator(2)
    acc.update(np.array([[0, 1]]), np.array([[0, 1]]))
    acc.matrix[0, 0] = 99
    assert acc.matrix.tolist() == [[1, 0], [0, 1]]


def test_per_image_iou() -> None:
    """Mean IoU of one image uses only the classes it involves."""
    assert per_image_iou(TRUTH, PRED, 3) == pytest.approx((0.5 + 0.6 + 1 / 3) / 3)
    # No border in truth or prediction: mean of pet 1/2 and background 2/3.
    assert per_image_iou(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 3) == pytest.approx(
        (0.5 + 2 / 3) / 2
    )
    assert per_image_iou(TRUTH, TRUTH, 3) == 1.0


def test_majority_baseline() -> None:
    """Predicting the most frequent true class: IoU = its frequency, others 0."""
    # Truth rows sum to 3 pet, 4 background, 2 border -> always "background".
    m = majority_baseline(np.array(EXPECTED_CM))
    assert m["majority_class"] == "background"
    assert m["confusion_matrix"] == [[0, 3, 0], [0, 4, 0], [0, 2, 0]]
    assert m["pixel_accuracy"] == pytest.approx(4 / 9)
    assert m["iou"] == pytest.approx({"pet": 0.0, "background": 4 / 9, "border": 0.0})
    assert m["mean_iou"] == pytest.approx(4 / 27)
    model = segmentation_metrics(np.array(EXPECTED_CM))
    assert model["mean_iou"] > m["mean_iou"]


def test_classification_metrics_with_a_tie() -> None:
    """Accuracy, confusion matrix and AUC for six scores, one positive/negative pair tied."""
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([[0.1], [0.4], [0.7], [0.4], [0.8], [0.9]])  # (N, 1) as Keras predicts
    m = classification_metrics(labels, scores)
    # Predicted dog when > 0.5: [0, 0, 1, 0, 1, 1] -> one FP (0.7), one FN (0.4).
    assert m["confusion_matrix"] == [[2, 1], [1, 2]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    # AUC over the 9 (dog, cat) pairs: dog 0.4 beats 0.1, ties 0.4 (0.5), loses to 0.7;
    # dogs 0.8 and 0.9 beat all three cats -> (1 + 0.5 + 0 + 3 + 3) / 9.
    assert m["auc"] == pytest.approx(7.5 / 9)
    assert m["num_images"] == 6
    assert "auc_note" not in m
    json.dumps(m)


def test_threshold_is_strict_like_keras() -> None:
    """A score exactly at the threshold counts as cat, as in Keras' binary_accuracy."""
    m = classification_metrics([0, 1], [0.5, 0.6])
    assert m["confusion_matrix"] == [[1, 0], [0, 1]]
    assert classification_metrics([0, 1], [0.2, 0.3], threshold=0.25)["accuracy"] == 1.0
