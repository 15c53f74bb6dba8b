"""Interpretation with real small Keras models: activation grids, filter ascent, Grad-CAM."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image
from snakevision.interpretation import activations, filters, gradcam, imagenet
from snakevision.interpretation.layers import gradcam_layer, last_spatial_layer, shown_layers
from snakevision.models import classification
from workflow import REPO


def small_convnet(size: int = 32) -> keras.Model:
    """Conv, pool, separable conv, conv: every kind of layer the grids show."""
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(8, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.SeparableConv2D(20, 3, activation="relu", name="sep1")(x)
    x = layers.Conv2D(5, 3, activation="relu", name="conv2")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def test_grid_size_follows_channels_and_spatial_size() -> None:
    # 20 channels of 5x7: two rows of 16 cells, each cell plus a 1 px gap.
    assert activations.grid(np.random.rand(5, 7, 20)).shape == (2 * 6 - 1, 16 * 8 - 1)
    assert activations.grid(np.random.rand(5, 7, 3)).shape == (5, 3 * 8 - 1)
    assert activations.grid(np.random.rand(4, 4, 32)).shape == (2 * 5 - 1, 16 * 5 - 1)


def test_grid_standardises_each_channel_and_keeps_dead_ones_flat() -> None:
    activation = np.zeros((4, 4, 2))
    activation[..., 0] = np.arange(16).reshape(4, 4) * 1000.0  # a huge range
    grid = activations.grid(activation)
    live, dead = grid[:, :4], grid[:, 5:]
    assert abs(live.mean() - 128) < 3 and live.min() < 60 and live.max() > 190
    assert (dead == 0).all()  # constant zero: no division by a zero std


def test_a_one_pixel_map_is_standardised_across_its_channels() -> None:
    grid = activations.grid(np.array([[[0.0, 0.0, 0.5, 3.0]]]))  # two dead channels, two live
    cells = grid[0, ::2]
    assert grid.shape == (1, 4 * 2 - 1)
    assert cells[0] == cells[1] < cells[2] < cells[3] and cells[3] > 200


def test_activations_come_from_one_pass_for_every_shown_layer(tmp_path: Path) -> None:
    model = small_convnet()
    assert [layer.name for layer in shown_layers(model)] == ["conv1", "pool1", "sep1", "conv2"]
    assert len(activations.activation_model(model).outputs) == 4
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    found = activations.activations(model, image)
    assert {k: v.shape for k, v in found.items()} == {
        "conv1": (30, 30, 8),
        "pool1": (15, 15, 8),
        "sep1": (13, 13, 20),
        "conv2": (11, 11, 5),
    }
    # The same numbers as the layer's own model.
    conv2 = keras.Model(model.input, model.get_layer("conv2").output)
    np.testing.assert_allclose(found["conv2"], conv2(image[None].astype("float32"))[0], atol=1e-5)
    written = activations.write(model, image, tmp_path / "pet")
    names = sorted(p.name for p in (tmp_path / "pet").iterdir())
    assert names == ["01_conv1.png", "02_pool1.png", "03_sep1.png", "04_conv2.png", "input.png"]
    assert len(written) == 5
    assert np.array_equal(np.asarray(Image.open(tmp_path / "pet/input.png")), image)


def test_our_classifiers_name_the_layers_config_refers_to() -> None:
    convnet = classification.convnet(180)
    assert [layer.name for layer in shown_layers(convnet)] == [
        "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "conv4", "pool4", "conv5",
    ]  # fmt: skip
    xception = classification.mini_xception(180)
    names = {layer.name for layer in xception.layers}
    assert {"block3_sepconv1", "block5_sepconv2", "block1_shortcut", "conv1"} <= names
    assert last_spatial_layer(convnet).name == "conv5"
    assert last_spatial_layer(xception).name == "block5_add"
    # At 80 px the convnet's conv5 map is 1x1: nothing to localise, so the pooling before it.
    assert last_spatial_layer(classification.convnet(80)).name == "pool4"


@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_ascent_raises_each_filters_mean_activation(seed: int) -> None:
    keras.utils.set_random_seed(seed)  # random weights: some filters are dead on the noise
    extractor = filters.extractor(small_convnet(), "sep1", "k")
    chosen = list(range(20))
    start = filters.starts(len(chosen), 32, seed=1)
    hot = np.eye(20, dtype="float32")[chosen]
    before = np.asarray(filters.mean_activations(extractor, start, hot, scale=255.0))
    images = filters.ascend(extractor, chosen, 32, steps=30, scale=255.0, seed=1)
    after = np.asarray(filters.mean_activations(extractor, images, hot, scale=255.0))
    live = before > 0  # a filter dead on the noise has no gradient to follow
    assert live.sum() >= 5
    assert (after[live] > 3 * before[live] + 0.05).all(), (before, after)


def test_filters_in_a_batch_give_the_same_patterns_as_one_at_a_time() -> None:
    extractor = filters.extractor(small_convnet(), "conv2", "k")
    kwargs = {"steps": 10, "scale": 255.0, "seed": 3}
    one = filters.ascend(extractor, [0, 1, 2, 3, 4], 32, batch_size=1, **kwargs)
    batched = filters.ascend(extractor, [0, 1, 2, 3, 4], 32, batch_size=4, **kwargs)  # padded
    np.testing.assert_allclose(one, batched, atol=1e-4)


def test_filter_grid_is_the_books_layout() -> None:
    patterns = np.full((64, 150, 150, 3), 200, dtype=np.uint8)
    grid = filters.grid(patterns)
    assert grid.shape == (8 * 150 + 7 * 5, 8 * 150 + 7 * 5, 3)  # 8x8 with 5 px margins
    assert (grid[150:155] == 0).all() and (grid[:150, :150] == 200).all()
    assert filters.grid(patterns[:10]).shape == (3 * 150 + 2 * 5, 4 * 150 + 3 * 5, 3)
    assert filters.crop_for(200) == 25 and filters.crop_for(80) == 10
    raw = np.random.default_rng(0).normal(size=(200, 200, 3))
    assert filters.deprocess(raw, 25).shape == (150, 150, 3)


def threshold_model() -> keras.Model:
    """Two 1x1 relu filters on red: one fires above 0.3 (live on the book's noise), one above 0.7.

    The book's noise spans 0.4..0.6, so the second is 0 all over it: dead, no gradient.
    """
    inputs = keras.Input((24, 24, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(2, 1, activation="relu", name="thresholds")(x)
    model = keras.Model(inputs, x)
    kernel = np.zeros((1, 1, 3, 2), dtype="float32")
    kernel[0, 0, 0] = 1.0
    model.get_layer("thresholds").set_weights([kernel, np.array([-0.3, -0.7], "float32")])
    return model


def test_filters_dead_on_the_noise_are_counted_and_crossed_out(caplog) -> None:
    extractor = filters.extractor(threshold_model(), "thresholds", "k")
    kwargs = {"steps": 5, "scale": 255.0, "batch_size": 2, "seed": 0}
    start = filters.starts(2, 24, seed=0)
    with caplog.at_level(logging.INFO, logger="snakevision.interpretation.filters"):
        images, still = filters.patterns(extractor, [0, 1], 24, **kwargs)
    assert still.tolist() == [False, True]
    assert np.array_equal(images[1], start[1]) and not np.array_equal(images[0], start[0])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("1 of 2 filters did not move (1)")
    assert "1 did not move" in caplog.text  # the batch's own line
    # The grid: the live filter's cell as ascended, the dead one's under a cross.
    canvas = filters.pattern_grid(extractor, 2, 24, **kwargs)
    crop = filters.crop_for(24)
    side = 24 - 2 * crop
    assert canvas.shape == (side, 2 * side + filters.MARGIN, 3)
    cells = [canvas[:, :side], canvas[:, side + filters.MARGIN :]]
    assert np.array_equal(cells[0], filters.deprocess(images[0], crop))
    assert np.array_equal(cells[1], filters.crossed(filters.deprocess(images[1], crop)))


def test_noise_of_more_contrast_wakes_a_filter_dead_on_the_books() -> None:
    extractor = filters.extractor(threshold_model(), "thresholds", "k")
    kwargs = {"steps": 5, "scale": 255.0, "batch_size": 2, "seed": 0}
    wide = filters.starts(2, 24, seed=0, start=(0.0, 1.0))
    assert wide.min() < 0.05 and wide.max() > 0.95
    images, still = filters.patterns(extractor, [0, 1], 24, start=(0.0, 1.0), **kwargs)
    assert not still.any()
    hot = np.eye(2, dtype="float32")
    before = np.asarray(filters.mean_activations(extractor, wide, hot, 255.0))
    after = np.asarray(filters.mean_activations(extractor, images, hot, 255.0))
    assert (after > before + 0.1).all(), (before, after)


def test_a_crossed_out_cell_keeps_its_noise_off_the_diagonals() -> None:
    cell = np.full((20, 20, 3), 100, dtype=np.uint8)
    marked = filters.crossed(cell)
    for y, x in ((0, 0), (10, 9), (19, 0), (0, 19), (19, 19)):  # on a diagonal: white core
        assert (marked[y, x] == 255).all(), (y, x)
    assert (marked[0, 2] == 0).all()  # beside the core: the black outline
    assert (marked[0, 10] == 100).all() and (marked[10, 0] == 100).all()  # off them: as it was
    assert (cell == 100).all()  # a copy


def test_unknown_layer_names_the_key_and_the_choices() -> None:
    with pytest.raises(
        ValueError, match=r"interpretation\.filters\.layers\.convnet: .*'conv9'.*conv5"
    ):
        filters.extractor(
            classification.convnet(96), "conv9", "interpretation.filters.layers.convnet"
        )


def region_model(weight: float) -> keras.Model:
    """A brightness detector: its score rises (weight > 0) or falls with bright pixels."""
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="features")(inputs)
    x = layers.MaxPooling2D(4, name="cells")(x)  # an 8x8 map of 4x4 cells
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("features").set_weights([np.full((3, 3, 3, 4), 0.1), np.full(4, -0.5)])
    model.layers[-1].set_weights([np.full((4, 1), weight), np.zeros(1)])
    return model


@pytest.mark.parametrize("weight", [1.0, -1.0])  # predicts dog (p), then cat (1 - p)
@pytest.mark.parametrize("corner", ["top_right", "bottom_left"])  # a transposed map fails
def test_gradcam_mass_falls_on_the_region_the_score_depends_on(weight, corner) -> None:
    image = np.random.default_rng(0).uniform(0, 0.1, (32, 32, 3)).astype("float32")
    top, bottom = slice(0, 16), slice(16, 32)
    region = (top, bottom) if corner == "top_right" else (bottom, top)
    image[region] = 1.0  # only here do the features fire (bias -0.5 silences the rest)
    found = gradcam.explain(region_model(weight), image)
    assert found.layer == "cells" and found.heatmap.shape == (8, 8)
    assert found.explained == (1 if weight > 0 else 0)
    cells = tuple(slice(part.start // 4, part.stop // 4) for part in region)  # 4 px a cell
    # Mostly: the 3x3 convolution also fires on the pixels just outside the region.
    share = found.heatmap[cells].sum() / found.heatmap.sum()
    assert share > 0.8, (share, found.heatmap.round(2))
    assert found.heatmap.max() == pytest.approx(1.0)


def test_gradcam_explains_the_last_map_of_at_least_7x7_by_default() -> None:
    # At the demo's 80 px the last maps are 3x3 (convnet pool4, mini Xception block5_add).
    assert gradcam_layer(classification.convnet(80)).name == "pool3"  # 8x8
    xception = classification.mini_xception(80)
    assert gradcam_layer(xception).name == "block3_add"  # 10x10
    # Not block4_sepconv2 (10x10 too): the block's shortcut bypasses it.
    assert gradcam_layer(classification.convnet(180)).name == "conv5"  # 7x7
    assert gradcam_layer(classification.mini_xception(180)).name == "block4_add"  # 11x11
    image = np.random.default_rng(0).uniform(0, 255, (80, 80, 3)).astype("float32")
    found = gradcam.explain(xception, image)
    assert found.layer == "block3_add" and found.heatmap.shape == (10, 10)


def test_gradcam_falls_back_to_the_largest_map_when_none_is_7x7() -> None:
    inputs = keras.Input((8, 8, 3))
    x = layers.Rescaling(1 / 255)(inputs)  # 8x8, but a picture, not a feature map
    x = layers.Conv2D(4, 3, activation="relu", name="conv_a")(x)  # 6x6
    x = layers.Conv2D(4, 1, activation="relu", name="conv_b")(x)  # 6x6, the last of the largest
    x = layers.MaxPooling2D(2, name="pool")(x)  # 3x3
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    assert gradcam_layer(model).name == "conv_b"
    assert gradcam_layer(model, min_side=3).name == "pool"


def test_the_books_xception_keeps_its_gradcam_layer() -> None:
    for size in (299, 200):  # 10x10, 7x7
        model = keras.applications.Xception(weights=None, input_shape=(size, size, 3))
        assert gradcam_layer(model).name == "block14_sepconv2_act"


def test_a_gradcam_layer_inside_a_residual_block_names_the_key() -> None:
    image = np.zeros((80, 80, 3), dtype="float32")
    with pytest.raises(ValueError, match=r"^gc\.key: .*block4_sepconv2 alone"):
        gradcam.explain(classification.mini_xception(80), image, "block4_sepconv2", "gc.key")


def test_gradcam_outputs(tmp_path: Path) -> None:
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 70, 3), np.uint8))
    found = gradcam.Explanation(np.eye(3), np.array([0.2, 0.8]), 1, "conv5")
    gradcam.write(tmp_path, picture, found, ["cat", "dog"], top=3)
    heatmap = np.asarray(Image.open(tmp_path / "heatmap.png"))
    assert heatmap.shape == (258, 258, 3)  # 3 cells of 86 px: at least 256
    assert (heatmap[:86, :86] == heatmap[0, 0]).all()  # nearest neighbours: solid cells
    assert Image.open(tmp_path / "overlay.jpg").size == (70, 45)  # the picture's own size
    predictions = json.loads((tmp_path / "predictions.json").read_text())
    assert predictions["explained"] == {"class": "dog", "index": 1, "probability": 0.8}
    assert [c["class"] for c in predictions["top"]] == ["dog", "cat"]
    assert predictions["layer"] == "conv5"


def test_overlay_is_the_books_superimposition() -> None:
    picture = np.zeros((10, 20, 3), dtype=np.uint8)
    mixed = gradcam.overlay(picture, np.ones((2, 2)))
    assert mixed.shape == (10, 20, 3)
    # Jet's hottest colour is dark red; rescaled to fill 0..255 as array_to_img does.
    assert tuple(mixed[5, 10]) == (255, 0, 0)


BACKEND_SCRIPT = """
import sys
import keras, numpy as np
from snakevision.interpretation import filters, gradcam
model = keras.models.load_model(sys.argv[1])
image = np.load(sys.argv[2])
found = gradcam.explain(model, image)
extractor = filters.extractor(model, "sep1", "k")
patterns = filters.ascend(extractor, [0, 1, 2], 32, steps=15, scale=255.0, batch_size=2, seed=4)
np.savez(sys.argv[3], heatmap=found.heatmap, probs=found.probabilities, patterns=patterns)
"""


def test_tensorflow_and_jax_give_the_same_heatmap_and_patterns(tmp_path: Path) -> None:
    keras.utils.set_random_seed(5)
    small_convnet().save(tmp_path / "model.keras")
    image = np.random.default_rng(1).uniform(0, 255, (32, 32, 3)).astype("float32")
    np.save(tmp_path / "image.npy", image)
    results = {}
    for backend in ("tensorflow", "jax"):
        out = tmp_path / f"{backend}.npz"
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO / "scripts")}
        subprocess.run(
            [
                sys.executable,
                "-c",
                BACKEND_SCRIPT,
                tmp_path / "model.keras",
                tmp_path / "image.npy",
                out,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        results[backend] = np.load(out)
    tf, jax = results["tensorflow"], results["jax"]
    assert tf["heatmap"].max() == pytest.approx(1.0)
    np.testing.assert_allclose(tf["heatmap"], jax["heatmap"], atol=1e-4)
    np.testing.assert_allclose(tf["probs"], jax["probs"], atol=1e-5)
    np.testing.assert_allclose(tf["patterns"], jax["patterns"], atol=1e-3)


def test_imagenet_files_name_the_key(tmp_path: Path) -> None:
    wrong = tmp_path / "weights.h5"
    wrong.write_bytes(b"not hdf5 at all")
    with pytest.raises(ValueError, match=r"interpretation\.imagenet\.weights: .*weights\.h5"):
        imagenet.load(wrong, "interpretation.imagenet.weights")
    index = tmp_path / "index.json"
    index.write_text(json.dumps({str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}))
    assert imagenet.class_names(index, "k")[999] == "class_999"
    index.write_text(json.dumps({"0": ["n0", "tench"]}))
    with pytest.raises(ValueError, match=r"key: .*index\.json is not an ImageNet class index"):
        imagenet.class_names(index, "key")


def test_the_imagenet_base_keeps_every_weight_of_the_full_model() -> None:
    keras.utils.set_random_seed(2)
    full = keras.applications.Xception(weights=None)
    base = imagenet.without_top(full, 299)
    image = imagenet.preprocess(np.random.default_rng(0).integers(0, 256, (1, 299, 299, 3)))
    # The base ends where the top begins: the same feature map from the same weights.
    last = keras.Model(full.input, full.get_layer("block14_sepconv2_act").output)
    expected = last(image, training=False)
    np.testing.assert_allclose(base(image, training=False), expected, atol=1e-4)
    assert base.count_params() == full.count_params() - full.get_layer("predictions").count_params()


def test_imagenet_preprocessing_is_keras_own_and_leaves_the_picture_alone() -> None:
    picture = np.random.default_rng(0).uniform(0, 255, (4, 4, 3)).astype("float32")
    kept = picture.copy()
    expected = keras.applications.xception.preprocess_input(picture.copy())
    np.testing.assert_allclose(imagenet.preprocess(picture), expected)
    np.testing.assert_allclose(imagenet.preprocess(np.uint8(picture)).min(), -1, atol=0.01)
    assert np.array_equal(picture, kept)  # preprocess_input alone scales it in place
