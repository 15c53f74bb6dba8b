"""Unit tests for the model library: parameter counts, shapes, augmentation, dtypes, summaries."""

from collections.abc import Iterator

import keras
import numpy as np
import pytest
from snakevision.models import catalog, classification, segmentation
from snakevision.models.build import build


def conv(k: int, cin: int, cout: int, bias: bool = True) -> int:
    """Parameters of a k x k Conv2D or Conv2DTranspose."""
    return k * k * cin * cout + (cout if bias else 0)


def sep(k: int, cin: int, cout: int) -> int:
    """Parameters of a bias-free SeparableConv2D: depthwise k x k plus pointwise 1x1."""
    return k * k * cin + cin * cout


def bn(c: int) -> int:
    """Parameters of BatchNormalization: gamma, beta (trainable), moving mean and variance."""
    return 4 * c


def dense(cin: int, cout: int) -> int:
    """Parameters of a Dense layer."""
    return cin * cout + cout


def pixels(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Return a fixed batch of float pixels 0..255."""
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.fixture
def bfloat16_policy() -> Iterator[None]:
    """Run a test under the mixed_bfloat16 global policy and restore the previous one."""
    saved = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(saved)


def test_segmentation_params_match_book() -> None:
    encoder = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256)]
    decoder = [(256, 256), (256, 256), (256, 128), (128, 128), (128, 64), (64, 64)]
    by_hand = sum(conv(3, a, b) for a, b in encoder + decoder) + conv(3, 64, 3)
    model = segmentation.book(200, 3)
    assert by_hand == 2_880_643
    assert model.count_params() == 2_880_643
    assert model.name == "book"


def test_segmentation_output_is_per_pixel_distribution() -> None:
    model = segmentation.book(64, 5)
    assert model.output.shape == (None, 64, 64, 5)
    probs = np.asarray(model(pixels(2, 64)))
    assert probs.shape == (2, 64, 64, 5)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("size", "num_classes"), [(200, 3), (56, 5)])
def test_unet_output_follows_size_and_classes(size: int, num_classes: int) -> None:
    model = segmentation.unet(size, num_classes)  # sizes that are no powers of two
    assert model.name == "unet"
    assert model.output.shape == (None, size, size, num_classes)
    probs = np.asarray(model(pixels(2, size)))
    assert probs.shape == (2, size, size, num_classes)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)


def test_unet_has_skips_at_every_scale_and_batch_norm() -> None:
    model = segmentation.unet(64)
    joined = [
        [tuple(t.shape) for t in layer.input]
        for layer in model.layers
        if isinstance(layer, keras.layers.Concatenate)
    ]
    # Deepest first: the upsampled decoder map beside the encoder's map of the same scale.
    assert joined == [
        [(None, 16, 16, 192), (None, 16, 16, 96)],
        [(None, 32, 32, 96), (None, 32, 32, 48)],
        [(None, 64, 64, 48), (None, 64, 64, 24)],
    ]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 2 * 7  # two per conv block: three down, the bottleneck, three up
    blocks = [(3, 24), (24, 24), (24, 48), (48, 48), (48, 96), (96, 96), (96, 192), (192, 192)]
    blocks += [(288, 96), (96, 96), (144, 48), (48, 48), (72, 24), (24, 24)]
    by_hand = sum(conv(3, a, b, bias=False) + bn(b) for a, b in blocks) + conv(1, 24, 3)
    assert model.count_params() == by_hand == 1_098_771


def test_convnet_params_match_book() -> None:
    convs = conv(3, 3, 32) + conv(3, 32, 64) + conv(3, 64, 128)
    convs += conv(3, 128, 256) + conv(3, 256, 256)
    # 180 -conv-> 178 -pool-> 89 -> 87 -> 43 -> 41 -> 20 -> 18 -> 9 -> 7: flatten 7 * 7 * 256.
    by_hand = convs + dense(7 * 7 * 256, 1)
    model = classification.convnet(180)
    assert by_hand == 991_041
    assert model.count_params() == 991_041
    assert model.output.shape == (None, 1)


def test_mini_xception_params_by_formula() -> None:
    total, frozen, cin = conv(5, 3, 32, bias=False), 0, 32
    for size in (32, 64, 128, 256, 512):
        total += bn(cin) + sep(3, cin, size) + bn(size) + sep(3, size, size)
        total += conv(1, cin, size, bias=False)
        frozen += (bn(cin) + bn(size)) // 2  # moving mean and variance
        cin = size
    total += dense(512, 1)
    model = classification.mini_xception(180)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (total, frozen) == (721_857, 3_008)
    assert model.count_params() == total
    assert trainable == total - frozen


def add_shapes(model: keras.Model) -> list[tuple]:
    """Return the output shapes of a model's Add layers, in order."""
    return [
        tuple(layer.output.shape) for layer in model.layers if isinstance(layer, keras.layers.Add)
    ]


def test_residual_demo_shapes_and_params() -> None:
    model = classification.residual_demo()
    assert add_shapes(model) == [
        (None, 16, 16, 32),
        (None, 8, 8, 64),
        (None, 8, 8, 128),
    ]
    by_hand = conv(3, 3, 32) + conv(3, 32, 32) + conv(1, 3, 32)
    by_hand += conv(3, 32, 64) + conv(3, 64, 64) + conv(1, 32, 64)
    by_hand += conv(3, 64, 128) + conv(3, 128, 128) + conv(1, 64, 128)
    by_hand += dense(128, 1)
    assert model.count_params() == by_hand == 297_697
    assert model.output.shape == (None, 1)


@pytest.mark.parametrize(
    ("name", "add_shape"),
    [("projection_demo", (None, 30, 30, 64)), ("pooling_demo", (None, 15, 15, 64))],
)
def test_projection_demos(name: str, add_shape: tuple) -> None:
    model = classification.BUILDERS[name]()
    assert model.name == name
    assert model.input.shape == (None, 32, 32, 3)
    assert tuple(model.get_layer("residual_add").output.shape) == add_shape
    assert model.count_params() == conv(3, 3, 32) + conv(3, 32, 64) + conv(1, 32, 64) + dense(64, 1)
    assert np.asarray(model(pixels(2, 32))).shape == (2, 1)


def test_residual_block_matches_odd_sizes_when_pooling() -> None:
    inputs = keras.Input((15, 15, 8))
    assert classification.residual_block(inputs, 16, pooling=True).shape == (
        None,
        8,
        8,
        16,
    )
    assert classification.residual_block(inputs, 8).shape == (None, 15, 15, 8)


def test_separable_block() -> None:
    inputs = keras.Input((9, 9, 8))
    model = keras.Model(inputs, classification.separable_block(inputs, 16, name="block1"))
    assert model.output.shape == (None, 5, 5, 16)
    by_hand = bn(8) + sep(3, 8, 16) + bn(16) + sep(3, 16, 16) + conv(1, 8, 16, bias=False)
    assert model.count_params() == by_hand


@pytest.mark.parametrize("name", catalog.trained(catalog.CLASSIFICATION))
def test_augmentation_only_in_training(name: str) -> None:
    model = classification.BUILDERS[name](96, seed=7)
    augment = model.get_layer("data_augmentation")
    x = pixels(4, 96)
    np.testing.assert_array_equal(np.asarray(augment(x, training=False)), x)
    assert not np.allclose(np.asarray(augment(x, training=True)), x)
    # Inference is deterministic (no augmentation, no dropout), and predict() is inference.
    inference = np.asarray(model(x, training=False))
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), inference)
    np.testing.assert_allclose(model.predict(x, verbose=0), inference, rtol=1e-5, atol=1e-6)


def test_bare_call_augments() -> None:
    # A Keras 3 default the interpretation code must know: without a training flag, the random
    # layers take their own default (True), so inference needs training=False or predict().
    x = pixels(4, 32)
    assert not np.allclose(np.asarray(classification.augmentation(seed=5)(x)), x)


def test_augmentation_is_reproducible_with_a_seed() -> None:
    x = pixels(4, 32)
    first = np.asarray(classification.augmentation(seed=3)(x, training=True))
    second = np.asarray(classification.augmentation(seed=3)(x, training=True))
    np.testing.assert_array_equal(first, second)


@pytest.mark.usefixtures("bfloat16_policy")
@pytest.mark.parametrize("name", catalog.MODELS)
def test_outputs_are_float32_under_mixed_bfloat16(name: str) -> None:
    task = catalog.task_of(name)
    if not catalog.MODELS[name].trains:
        model, size = classification.BUILDERS[name](), 32  # a demo keeps its own input
    else:
        size = 32 if task == catalog.SEGMENTATION else 96
        model = build(task, name, size)
    assert model.layers[1].compute_dtype == "bfloat16"
    assert model.output.dtype == "float32"
    x = pixels(2, size)
    for training in (False, True):
        assert keras.backend.standardize_dtype(model(x, training=training).dtype) == "float32"


def test_every_catalog_model_has_a_builder_of_its_task() -> None:
    assert {*segmentation.BUILDERS, *classification.BUILDERS} == set(catalog.MODELS)
    for name, model in catalog.MODELS.items():
        module = segmentation if model.task == catalog.SEGMENTATION else classification
        assert name in module.BUILDERS, name
    assert catalog.trained(catalog.SEGMENTATION) == ["book", "unet"]
    assert catalog.trained(catalog.CLASSIFICATION) == ["convnet", "mini_xception"]
    assert catalog.summarised() == [
        "convnet",
        "mini_xception",
        "residual_demo",
        "projection_demo",
        "pooling_demo",
    ]
    assert catalog.IMAGENET not in catalog.MODELS  # explained, never built here


def test_the_book_figures_are_the_published_ones() -> None:
    assert catalog.published("convnet") == ("accuracy", 0.835)
    assert catalog.published("mini_xception") == ("accuracy", 0.908)
    assert catalog.published("book") is None and catalog.published("unet") is None


def test_summary_text_is_plain_and_complete() -> None:
    model = classification.mini_xception(180)
    text = classification.summary_text(model)
    assert 'Model: "mini_xception"' in text
    for name in ("data_augmentation", "probability", "global_average_pooling2d"):
        assert name in text
    assert "Connected to" in text  # the last column is not cropped
    assert "\x1b" not in text and "[bold" not in text
    assert text.splitlines()[-1] == "params total=721857 trainable=718849 non_trainable=3008"


@pytest.mark.usefixtures("bfloat16_policy")
def test_saved_model_keeps_float32_head(tmp_path) -> None:
    model = classification.convnet(96)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.get_layer("probability").compute_dtype == "float32"
    x = pixels(2, 96)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


@pytest.mark.parametrize(
    ("model", "refused", "built"),
    [
        ("book", 52, 56),
        ("unet", 60, 64),
        ("unet", 196, 200),
        ("convnet", 77, 78),
        ("mini_xception", 4, 5),
    ],
)
def test_the_limits_are_keras_own(model, refused, built) -> None:
    # Keras itself fails below the limit (or, for the segmentation model, makes masks of
    # another size than the images) and not at it: the config check refuses what Keras would.
    assert catalog.size_problem(model, refused) and catalog.size_problem(model, built) is None

    def fits(size: int) -> bool:
        try:
            output = build(catalog.task_of(model), model, size).output_shape
        except ValueError:  # 'Computed output size would be zero or negative'
            return False
        return catalog.task_of(model) != catalog.SEGMENTATION or output[1:3] == (size, size)

    assert not fits(refused) and fits(built)


def test_the_limits_hold_past_the_boundary() -> None:
    assert [n for n in range(32, 100) if catalog.size_problem("book", n) is None] == list(
        range(32, 100, 8)
    )
    assert segmentation.book(200).output_shape == (None, 200, 200, 3)  # the book's size
    assert classification.convnet(180).get_layer("conv5").output.shape == (None, 7, 7, 256)
    xception = classification.mini_xception(180)
    assert xception.get_layer("block5_add").output.shape == (None, 6, 6, 512)
