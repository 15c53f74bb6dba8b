"""Predict on a user's photo with small real (untrained, seeded) Keras models."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers
from matplotlib.colors import to_rgb
from PIL import Image
from snakevision.data.images import DecodeError, Picture
from snakevision.predict import photos
from snakevision.report.plots import CLASS_COLOURS

SIZE = 32  # both tasks' input size here
KEY = "predict.images"
# What the models were trained on, as rule predict reads it from config and the histories.
DEMO = photos.TrainedOn(
    "demo", "synthetic", {"book": 6, "unet": 6, "convnet": 10, "mini_xception": 20}
)


def segmenter(seed: int) -> keras.Model:
    """A tiny fully convolutional segmenter: softmax over 3 classes per pixel."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(3, 1, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def classifier(seed: int) -> keras.Model:
    """A tiny binary classifier: one sigmoid p(dog)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Two segmenters and two classifiers saved as .keras files, as training writes them."""
    folder = tmp_path_factory.mktemp("models")
    found: dict[str, dict[str, Path]] = {"segmenters": {}, "classifiers": {}}
    for kind, build, names in [
        ("segmenters", segmenter, ["book", "unet"]),
        ("classifiers", classifier, ["convnet", "mini_xception"]),
    ]:
        for seed, name in enumerate(names):
            path = folder / f"{kind}_{name}.keras"
            build(seed).save(path)
            found[kind][name] = path
    return found


def photo_file(path: Path, mode: str = "RGB", size: tuple[int, int] = (45, 30)) -> Path:
    """A random picture of the given mode and (width, height), saved as path."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    image = rgb.convert(mode)
    if mode == "RGBA":  # partly transparent: the alpha channel is dropped, not blended
        image.putalpha(Image.fromarray(rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8)))
    image.save(path)
    return path


def picture(path: Path) -> Picture:
    """The picture as rule predict names it: its stem, and the config entry in messages."""
    return Picture(path.stem, path, f"{KEY} entry {str(path)!r}")


def mask_files(folder: Path, segmenters: dict[str, Path]) -> dict[str, Path]:
    """Each segmenter's full-size mask as rule predict names it, beside masks.png."""
    return {name: folder / f"mask_{name}.png" for name in segmenters}


def run(
    tmp_path: Path, photo: Path, models: dict[str, dict[str, Path]], out: str = "out"
) -> tuple[Path, dict]:
    """Predict the photo with every model; masks.png's path and classes.json's content."""
    masks, classes = tmp_path / out / "masks.png", tmp_path / out / "classes.json"
    photos.predict_photo(
        picture(photo),
        models["segmenters"],
        models["classifiers"],
        (SIZE, SIZE),
        masks,
        classes,
        mask_files(tmp_path / out, models["segmenters"]),
        DEMO,
    )
    return masks, json.loads(classes.read_text())


def test_masks_come_back_at_the_photos_own_resolution(models: dict) -> None:
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 45, 3), np.uint8))
    model = keras.models.load_model(models["segmenters"]["book"])
    mask = photos.segment(model, photo, SIZE)
    assert mask.shape == (30, 45)
    assert set(np.unique(mask)) <= {0, 1, 2}
    assert photos.overlay(photo, mask).shape == (30, 45, 3)


def test_overlay_tints_each_class_in_its_colour() -> None:
    photo = Image.new("RGB", (2, 1), (0, 0, 0))
    tinted = photos.overlay(photo, np.array([[0, 1]]))
    assert tinted[0, 0].tolist() != tinted[0, 1].tolist()
    assert (tinted > 0).any(axis=-1).all()  # black pixels take on their class's colour


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_grey_alpha_and_palette_photos_are_predicted_as_rgb(
    tmp_path: Path, models: dict, mode: str
) -> None:
    odd = photo_file(tmp_path / f"odd.{'gif' if mode == 'P' else 'png'}", mode)
    as_rgb = tmp_path / "rgb.png"
    Image.open(odd).convert("RGB").save(as_rgb)
    image = picture(odd).load()
    assert image.mode == "RGB" and image.size == (45, 30)
    _, expected = run(tmp_path, as_rgb, models, "rgb")
    _, found = run(tmp_path, odd, models, "odd")
    assert found == expected
    for name, path in models["segmenters"].items():
        model = keras.models.load_model(path)
        same = photos.segment(model, image, SIZE)
        np.testing.assert_array_equal(same, photos.segment(model, picture(as_rgb).load(), SIZE))
        assert same.shape == (30, 45), name


def test_a_file_that_is_no_picture_fails_naming_the_entry_before_any_model_loads(
    tmp_path: Path,
) -> None:
    page = tmp_path / "photo.jpg"
    page.write_text("<!DOCTYPE html><html><body>a photo of my cat</body></html>")
    missing = {"book": tmp_path / "no_such_model.keras"}  # loading it would fail differently
    with pytest.raises(DecodeError, match=rf"{KEY} entry '.*photo\.jpg'.*not a usable picture"):
        photos.predict_photo(
            picture(page),
            missing,
            missing,
            (SIZE, SIZE),
            tmp_path / "m.png",
            tmp_path / "c.json",
            mask_files(tmp_path, missing),
            DEMO,
        )
    assert not list(tmp_path.glob("*.png")) and not (tmp_path / "c.json").exists()


def test_classes_hold_each_classifiers_probabilities_and_verdict(
    tmp_path: Path, models: dict
) -> None:
    _, classes = run(tmp_path, photo_file(tmp_path / "rex.jpg"), models)
    assert (classes["width"], classes["height"]) == (45, 30)
    assert list(classes["classifiers"]) == ["convnet", "mini_xception"]
    for found in classes["classifiers"].values():
        assert 0 <= found["dog"] <= 1
        assert found["cat"] == pytest.approx(1 - found["dog"])
        assert found["verdict"] == ("dog" if found["dog"] > 0.5 else "cat")


def test_verdict_is_dog_only_above_one_half() -> None:
    inputs = keras.Input((SIZE, SIZE, 3))
    zeros = layers.GlobalAveragePooling2D()(layers.Rescaling(0.0)(inputs))

    def constant(bias: str) -> keras.Model:
        """A classifier whose p(dog) is sigmoid(bias) whatever the photo."""
        return keras.Model(inputs, layers.Dense(1, "sigmoid", bias_initializer=bias)(zeros))

    photo = Image.new("RGB", (20, 10))
    assert photos.classify(constant("ones"), photo, SIZE)["verdict"] == "dog"
    assert photos.classify(constant("zeros"), photo, SIZE) == {
        "dog": 0.5,
        "cat": 0.5,
        "verdict": "cat",
    }


def test_masks_png_grows_with_the_number_of_segmenters(tmp_path: Path, models: dict) -> None:
    photo = photo_file(tmp_path / "rex.png")
    one = {**models, "segmenters": {"book": models["segmenters"]["book"]}}
    masks_one, _ = run(tmp_path, photo, one, "one")
    masks_two, _ = run(tmp_path, photo, models, "two")
    with Image.open(masks_one) as small, Image.open(masks_two) as large:
        assert large.height > 1.5 * small.height
        assert large.width == pytest.approx(small.width, abs=20)


def test_figure_follows_the_photos_aspect(tmp_path: Path) -> None:
    heights = []
    for size in [(60, 30), (30, 60)]:
        photo = Image.new("RGB", size)
        path = tmp_path / f"{size[0]}x{size[1]}.png"
        photos.masks_figure(photo, {"book": np.zeros(size[::-1], np.uint8)}, path)
        with Image.open(path) as image:
            heights.append(image.height)
    assert heights[1] > 2 * heights[0]


def test_each_segmenters_mask_is_written_at_the_photos_size_as_a_palette_png(
    tmp_path: Path, models: dict
) -> None:
    photo = photo_file(tmp_path / "rex.jpg", size=(123, 77))
    run(tmp_path, photo, models)
    files = mask_files(tmp_path / "out", models["segmenters"])
    assert sorted(p.name for p in (tmp_path / "out").glob("mask_*.png")) == [
        "mask_book.png",
        "mask_unet.png",
    ]
    for name, path in files.items():
        with Image.open(path) as image:
            assert image.mode == "P" and image.size == (123, 77), name
            labels = np.asarray(image)
            palette = image.getpalette()[:9]
        assert set(np.unique(labels)) <= {0, 1, 2}
        # The same labels as the model's mask, not colours: the palette only shows them.
        model = keras.models.load_model(models["segmenters"][name])
        np.testing.assert_array_equal(labels, photos.segment(model, picture(photo).load(), SIZE))
        expected = [round(255 * c) for colour in CLASS_COLOURS for c in to_rgb(colour)]
        assert palette == expected
    assert not list((tmp_path / "out").glob(".tmp-*"))


def test_a_mask_keeps_all_three_values_and_refuses_others(tmp_path: Path) -> None:
    mask = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    photos.write_mask(mask, tmp_path / "mask.png")
    with Image.open(tmp_path / "mask.png") as image:
        np.testing.assert_array_equal(np.asarray(image), mask)
        rgb = np.asarray(image.convert("RGB"))
    assert len({tuple(p) for p in rgb.reshape(-1, 3)}) == 3  # three colours, not near-black
    with pytest.raises(ValueError, match=r"bad\.png.*labels 0\.\.2"):
        photos.write_mask(np.array([[0, 3]]), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_every_segmenter_needs_its_mask_file(tmp_path: Path, models: dict) -> None:
    with pytest.raises(ValueError, match="one mask file per segmenter"):
        photos.predict_photo(
            picture(photo_file(tmp_path / "rex.png")),
            models["segmenters"],
            models["classifiers"],
            (SIZE, SIZE),
            tmp_path / "masks.png",
            tmp_path / "classes.json",
            {"book": tmp_path / "mask_book.png"},
            DEMO,
        )


@pytest.mark.parametrize("size", [(4000, 3000), (100, 80)])
def test_masks_png_is_about_1200_px_wide_whatever_the_photo(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    photo = Image.new("RGB", size, (200, 120, 40))
    masks = {name: np.zeros(size[::-1], np.uint8) for name in ["first", "second"]}
    path = tmp_path / "masks.png"
    photos.masks_figure(photo, masks, path)
    with Image.open(path) as image:
        assert image.width == pytest.approx(1200, abs=60)
        # Two rows of panels of the photo's aspect, plus titles and the legend.
        assert image.height == pytest.approx(2 * 400 * size[1] / size[0] + 100, rel=0.2)


def test_a_huge_photo_is_drawn_from_a_smaller_copy_with_the_same_classes() -> None:
    photo = Image.new("RGB", (4000, 3000))
    mask = np.zeros((3000, 4000), np.uint8)
    mask[:, 2000:] = 2
    shown, small = photos._shown(photo, mask)
    assert shown.size == small.shape[::-1] == (photos.SHOWN_WIDTH, 600)
    assert set(np.unique(small)) == {0, 2}  # nearest neighbour: no blended label 1
    same_photo, same_mask = photos._shown(Image.new("RGB", (100, 80)), mask[:80, :100])
    assert same_photo.size == (100, 80) and same_mask.shape == (80, 100)


def _history(path: Path, epochs: int) -> Path:
    """A history.csv as training writes it: one row per epoch trained."""
    rows = "".join(f"{e},{1 / e:.3f}\n" for e in range(1, epochs + 1))
    path.write_text("epoch,loss\n" + rows)
    return path


def test_the_epochs_trained_come_from_each_models_history(tmp_path: Path) -> None:
    # Early stopping may end a training before its `epochs`: the history has the epochs run.
    trained = photos.TrainedOn.read(
        "laptop",
        "download",
        {"unet": _history(tmp_path / "u.csv", 4), "convnet": _history(tmp_path / "c.csv", 1)},
    )
    assert trained == photos.TrainedOn("laptop", "download", {"unet": 4, "convnet": 1})
    assert trained.note(["unet", "convnet"]) == (
        "Models trained on the Oxford-IIIT Pet photographs (unet 4 epochs, convnet 1 epoch; "
        "profile laptop)."
    )


def test_models_trained_on_synthetic_data_are_no_measure_of_quality() -> None:
    assert DEMO.note(["book", "unet"]) == (
        "Models trained on the synthetic demo data (6 epochs; profile demo): not a measure of "
        "quality."
    )
    assert DEMO.as_json(["convnet", "mini_xception"]) == {
        "profile": "demo",
        "source": "synthetic",
        "data": "the synthetic demo data",
        "epochs": {"convnet": 10, "mini_xception": 20},
        "note": "Models trained on the synthetic demo data (convnet 10 epochs, mini_xception 20 "
        "epochs; profile demo): not a measure of quality.",
    }


def test_both_outputs_state_what_the_models_were_trained_on(
    tmp_path: Path, models: dict, monkeypatch
) -> None:
    import matplotlib.pyplot as plt

    titles, save = [], plt.Figure.savefig

    def keep(fig, *args, **kwargs):  # the figure's line above the masks, as it is saved
        titles.append(fig.get_suptitle())
        save(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", keep)
    _, classes = run(tmp_path, photo_file(tmp_path / "rex.jpg"), models)
    # classes.json: the classifiers' training, before their verdicts.
    assert list(classes) == ["width", "height", "trained_on", "classifiers"]
    assert classes["trained_on"] == DEMO.as_json(["convnet", "mini_xception"])
    # masks.png: the segmenters' training, in a line above the masks.
    assert titles == [DEMO.note(["book", "unet"])]
