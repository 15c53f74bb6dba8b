"""Tests for the config checks run before any job."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image
from snakevision.config.check import ConfigError, check
from snakevision.config.schema import parse_nested_strings
from snakevision.config.sources import (
    config_files,
    known_profiles,
    merge,
    missing_profile,
    profile_settings,
    source_of,
    sources_of,
    where_to_fix,
    with_profile,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config.schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def _merge(base: dict, override: dict) -> dict:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def test_defaults_pass() -> None:
    check(copy.deepcopy(DEFAULT), SCHEMA)


def test_demo_profile_passes() -> None:
    demo = yaml.safe_load((ROOT / "profiles" / "demo" / "demo.yaml").read_text())
    check(_merge(copy.deepcopy(DEFAULT), demo), SCHEMA)


def _set(path: str, value: object) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            config = config[key]
        config[last] = value

    return change


def _synthetic(config: dict) -> None:
    config["dataset"]["source"] = "synthetic"
    config["dataset"]["synthetic"]["images_per_breed"] = 2  # 74 images, 24 cats
    # 32 training images: the classifiers' default batch of 32 fits.
    config["split"]["classification"] = {"train": 16, "val": 4, "test": 4}


def _num_val(value: int) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        _synthetic(config)
        config["split"]["segmentation"]["num_val"] = value

    return change


CASES = {
    "filter noise upside down": (
        _set("interpretation.filters.start", [0.6, 0.4]),
        ["interpretation.filters.start ([0.6, 0.4]): the noise's low end must be below"],
    ),
    "no seed": (
        _set("segmentation.train.unet.seeds", []),
        ["segmentation.train.unet.seeds: [] should be non-empty"],
    ),
    "a seed twice": (
        _set("classification.train.convnet.seeds", [1337, 7, 1337]),
        ["classification.train.convnet.seeds: [1337, 7, 1337] has non-unique elements"],
    ),
    "a negative seed": (
        _set("segmentation.train.book.seeds", [1, -2]),
        ["segmentation.train.book.seeds[1]: -2 is less than the minimum of 0"],
    ),
    "a seed that is no number": (
        _set("segmentation.train.book.seeds", 1337),
        ["segmentation.train.book.seeds: 1337 is not of type 'array'"],
    ),
    "a run with no section": (
        _set("segmentation.models", ["book", "resnet"]),
        [
            "segmentation.models[1] (resnet): no such run; add segmentation.train.resnet "
            "(defined: book, unet)"
        ],
    ),
    "unknown key": (
        _set("dataset.sorce", "download"),
        ["dataset.sorce: unknown key; allowed keys: archives, download, source, synthetic"],
    ),
    "unknown top-level key": (
        lambda config: config.update(sedd=7),
        ["sedd: unknown key; allowed keys: classification, dataset, interpretation"],
    ),
    "a run whose architecture the catalog lacks": (
        lambda config: config["segmentation"]["train"].update(resnet={"epochs": 5}),
        [
            "segmentation.train.resnet.architecture (resnet): no segmentation architecture of "
            "that name; allowed: book, unet"
        ],
    ),
    "an architecture of the other task": (
        lambda config: config["segmentation"]["train"].update(
            fcn={"architecture": "convnet", "epochs": 5}
        ),
        ["segmentation.train.fcn.architecture (convnet): no segmentation architecture"],
    ),
    "wrong type": (
        _set("segmentation.train.book.epochs", "ten"),
        ["segmentation.train.book.epochs: 'ten' is not of type 'integer'"],
    ),
    "enum": (
        _set("dataset.source", "ftp"),
        ["dataset.source: 'ftp' is not allowed; allowed values: ['download', 'synthetic']"],
    ),
    "a float where a whole number goes": (
        _set("split.segmentation.num_val", 500.0),
        ["split.segmentation.num_val: 500.0 is not of type 'integer'"],
    ),
    "synthetic pictures too large": (
        _set("dataset.synthetic.max_side", 5000),
        ["dataset.synthetic.max_side: 5000 is greater than the maximum of 4096"],
    ),
    "negative count": (
        _set("split.classification.val", -5),
        ["split.classification.val: -5 is less than the minimum of 1"],
    ),
    "bad sha256": (
        _set("dataset.archives.images.sha256", "ABC123"),
        ["dataset.archives.images.sha256: 'ABC123' does not match", "64 lowercase hex digits"],
    ),
    "bad url scheme": (
        _set("dataset.archives.annotations.url", "ftp://example.org/a.tar.gz"),
        ["dataset.archives.annotations.url: 'ftp://", "(https://, http:// or file://)"],
    ),
    "malformed url": (
        _set("dataset.archives.images.url", "https://mirror.example.org:84a3/images.tar.gz"),
        [
            "dataset.archives.images.url ('https://mirror.example.org:84a3/images.tar.gz'): it "
            "cannot be parsed",
            "allowed: an http://, https:// or file:// URL",
        ],
    ),
    "sha256 ending in a newline (a YAML block scalar)": (
        _set("dataset.archives.images.sha256", "a" * 64 + "\n"),
        ["dataset.archives.images.sha256: ", "is too long", "64 lowercase hex digits"],
    ),
    "infinite timeout": (
        _set("dataset.download.timeout_seconds", float("inf")),
        ["dataset.download.timeout_seconds: inf is not allowed; allowed: a finite number"],
    ),
    "nan backoff": (
        _set("dataset.download.backoff_seconds", float("nan")),
        ["dataset.download.backoff_seconds: nan is not allowed; allowed: a finite number"],
    ),
    "bad enum in a list": (
        _set("interpretation.imagenet.images", ["elephant.jpg", 7]),
        ["interpretation.imagenet.images[1]: 7 is not of type 'string'"],
    ),
    "min_side > max_side": (
        _set("dataset.synthetic.min_side", 300),
        [
            "dataset.synthetic.min_side (300)",
            "dataset.synthetic.max_side (260)",
            "min_side <= max_side",
        ],
    ),
    "num_val too large": (
        _num_val(74),
        # 37 breeds x 2 images, less the corrupt JPEG that is never usable.
        ["split.segmentation.num_val (74)", "73 from dataset.synthetic.images_per_breed", "1..72"],
    ),
    "micro_batches neither auto nor a count": (
        _set("segmentation.train.book.micro_batches", "half"),
        [
            "segmentation.train.book.micro_batches: 'half' is not valid",
            "auto or a whole number >= 1",
        ],
    ),
    "micro_batches > batch_size": (
        _set("classification.train.convnet.micro_batches", 64),
        [
            "classification.train.convnet.micro_batches (64) exceeds "
            "classification.train.convnet.batch_size (32)",
            "allowed: auto or 1..batch_size",
        ],
    ),
    "micro_batches under batch normalization": (
        _set("classification.train.mini_xception.micro_batches", 4),
        [
            "classification.train.mini_xception.micro_batches (4): mini_xception's batch "
            "normalization needs whole batches; allowed: 1 or auto"
        ],
    ),
    "micro_batches under mixed_float16": (
        lambda config: config["segmentation"]["train"]["book"].update(
            precision="mixed_float16", micro_batches=4
        ),
        [
            "segmentation.train.book.micro_batches (4) with segmentation.train.book.precision "
            "mixed_float16: its loss scaling skips steps",
            "allowed: 1 or auto, or precision mixed_bfloat16",
        ],
    ),
    "micro_batches under the U-Net's batch normalization": (
        _set("segmentation.train.unet.micro_batches", 2),
        [
            "segmentation.train.unet.micro_batches (2): unet's batch normalization needs "
            "whole batches; allowed: 1 or auto"
        ],
    ),
    "a run name a path cannot hold": (
        _set("segmentation.models", ["book", "deep/lab"]),
        ["segmentation.models[1]: 'deep/lab' does not match"],
    ),
    "U-Net batch larger than the images left for training": (
        _set("segmentation.train.unet.batch_size", 6391),
        ["segmentation.train.unet.batch_size (6391) exceeds the 6390 images"],
    ),
    "classification too large": (
        _set("split.classification.train", 3000),
        ["split.classification train+val+test (4300 per species)", "lower the counts"],
    ),
    "segmentation size the model cannot take": (
        _set("segmentation.image_size", 52),
        [
            "segmentation.image_size (52): model book and unet (rule train) needs a multiple of 8",
            "52 px images would give 56 px masks; allowed: 48 or 56",
        ],
    ),
    "classification size below the convnet's": (
        _set("classification.image_size", 77),
        [
            "classification.image_size (77): model convnet (rules train and "
            "model_summaries) needs at least 78 px",
            "allowed: 78 or more",
        ],
    ),
    "segmentation batch larger than the images left for training": (
        _set("segmentation.train.book.batch_size", 6391),
        [
            "segmentation.train.book.batch_size (6391) exceeds the 6390 images it trains on (at "
            "most: 7390 from the official archives",
            "less split.segmentation.num_val 1000); allowed: 1..6390",
        ],
    ),
    "synthetic segmentation batch": (
        lambda config: (
            _num_val(40)(config),
            _set("segmentation.train.book.batch_size", 34)(config),
            _set("segmentation.train.unet.batch_size", 33)(config),
        ),
        ["segmentation.train.book.batch_size (34) exceeds the 33 images", "allowed: 1..33"],
    ),
    "classifier batch larger than its split": (
        _set("classification.train.mini_xception.batch_size", 2001),
        [
            "classification.train.mini_xception.batch_size (2001) exceeds the 2000 images it "
            "trains on (split.classification.train: 1000 per species, cats and dogs)",
        ],
    ),
}


# Every seed of the config: numpy and Keras take 0..2**32 - 1 (numpy.random.seed, and
# keras.utils.set_random_seed, which training calls, refuse more).
SEEDS = [
    "segmentation.train.book.seeds[0]",
    "classification.train.mini_xception.seeds[0]",
    "split.seed",
    "dataset.synthetic.seed",
    "segmentation.plot.seed",
    "overview.seed",
    "interpretation.filters.seed",
]


def _every_seed_key(config: dict, prefix: str = "") -> list[str]:
    """Every key of the config named seed or seeds, its items by index."""
    found = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if key == "seed":
            found.append(name)
        elif key == "seeds":
            found += [f"{name}[{i}]" for i in range(len(value))]
        elif isinstance(value, dict):
            found += _every_seed_key(value, f"{name}.")
    return found


def test_the_seed_cases_are_every_seed_of_the_config() -> None:
    found = {re.sub(r"train\.\w+\.", "train.*.", key) for key in _every_seed_key(DEFAULT)}
    assert found == {re.sub(r"train\.\w+\.", "train.*.", key) for key in SEEDS}


def _set_item(key: str, value: int) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        *parents, last = re.split(r"\.|(?=\[)", key)
        for step in parents:
            config = config[step]
        if last.startswith("["):
            config[int(last[1:-1])] = value
        else:
            config[last] = value

    return change


@pytest.mark.parametrize("key", SEEDS)
def test_a_seed_numpy_cannot_take_is_refused_naming_key_and_range(key: str) -> None:
    config = copy.deepcopy(DEFAULT)
    _set_item(key, 2**32)(config)
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as info:
        check(config, SCHEMA)
    assert f"{key}: 4294967296 is greater than the maximum of 4294967295" in str(info.value)
    assert "allowed: 0..4294967295" in str(info.value)
    _set_item(key, 2**32 - 1)(config)
    check(config, SCHEMA)


@pytest.mark.parametrize("case", CASES)
def test_invalid_config_is_named(case: str) -> None:
    change, expected = CASES[case]
    config = copy.deepcopy(DEFAULT)
    change(config)
    with pytest.raises(ConfigError, match=r"invalid configuration \(1 problem\(s\)\)") as info:
        check(config, SCHEMA)
    for text in expected:
        assert text in str(info.value)
    assert config != DEFAULT  # the test changed a copy, not the defaults


def test_every_problem_is_listed() -> None:
    config = copy.deepcopy(DEFAULT)
    config["keras_backend"] = "torch"
    del config["overview"]
    with pytest.raises(ConfigError, match=r"\(2 problem\(s\)\)") as info:
        check(config, SCHEMA)
    assert "keras_backend: 'torch'" in str(info.value)
    assert "overview: a required key, missing" in str(info.value)


def test_synthetic_limits_pass_when_they_fit() -> None:
    config = copy.deepcopy(DEFAULT)
    _num_val(40)(config)
    for model in ("book", "unet"):
        config["segmentation"]["train"][model]["batch_size"] = 33  # every training image at once
    config["classification"]["train"]["convnet"]["batch_size"] = 32
    config["segmentation"]["image_size"] = 32  # the smallest the schema allows
    check(config, SCHEMA)


def test_sizes_at_the_models_limits_pass() -> None:
    config = copy.deepcopy(DEFAULT)
    config["segmentation"]["image_size"] = 56
    config["classification"]["image_size"] = 78
    check(config, SCHEMA)


def test_nested_command_line_strings_are_parsed_where_the_schema_wants_more() -> None:
    # What `--config 'split={seed: 7}' ...` gives: Snakemake's YAML base loader makes strings.
    given = {
        "split": {"seed": "7"},
        "segmentation": {"train": {"book": {"micro_batches": "4", "learning_rate": "1e-3"}}},
        "dataset": {
            "download": {"timeout_seconds": "30"},
            "archives": {"images": {"sha256": "1" * 64}},  # a string, digits or not
        },
        "classification": {"image_size": "big"},
    }
    config = _merge(copy.deepcopy(DEFAULT), copy.deepcopy(given))
    parse_nested_strings(config, SCHEMA, given)
    assert (
        config["split"]["seed"] == 7
        and config["segmentation"]["train"]["book"]["micro_batches"] == 4
    )
    assert config["segmentation"]["train"]["book"]["learning_rate"] == 0.001
    assert config["dataset"]["download"]["timeout_seconds"] == 30
    assert config["dataset"]["archives"]["images"]["sha256"] == "1" * 64
    assert config["classification"]["image_size"] == "big"  # left for the check to name
    with pytest.raises(ConfigError, match="classification.image_size: 'big' is not of type"):
        check(config, SCHEMA)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"split": {"seed": "-1"}}, "split.seed: -1 is less than the minimum of 0"),
        (
            {"dataset": {"synthetic": {"images_per_breed": "0"}}},
            "dataset.synthetic.images_per_breed: 0 is less than the minimum of 1",
        ),
        (
            {"segmentation": {"image_size": "16"}},
            "segmentation.image_size: 16 is less than the minimum of 32",
        ),
        (
            {"segmentation": {"plot": {"num_images": "13"}}},
            "segmentation.plot.num_images: 13 is greater than the maximum of 12",
        ),
    ],
)
def test_out_of_range_command_line_numbers_are_named_as_such(given: dict, message: str) -> None:
    config = _merge(copy.deepcopy(DEFAULT), copy.deepcopy(given))
    parse_nested_strings(config, SCHEMA, given)
    with pytest.raises(ConfigError, match=re.escape(message)):
        check(config, SCHEMA)


def test_strings_in_a_config_file_are_not_parsed() -> None:
    # Only --config values are strings by Snakemake's doing; one in a file is the user's.
    config = copy.deepcopy(DEFAULT)
    config["split"]["seed"] = "7"
    parse_nested_strings(config, SCHEMA, {"split": {"seed": 7}})
    with pytest.raises(ConfigError, match="split.seed: '7' is not of type 'integer'"):
        check(config, SCHEMA)


def test_a_description_beside_a_ref_is_the_hint() -> None:
    # split.seed is written `$ref: seed` plus its own description, which the message shows.
    config = copy.deepcopy(DEFAULT)
    config["split"]["seed"] = -1
    with pytest.raises(ConfigError, match=r"minimum of 0 \(seed of the shuffle before splitting"):
        check(config, SCHEMA)


# Files config names, opened cheaply by the check: a wrong one stops the run before any job.


def _class_index(entries: int) -> str:
    return json.dumps({str(i): [f"n{i:08d}", f"class_{i}"] for i in range(entries)})


def _png(path: Path) -> Path:
    Image.new("RGB", (8, 6), "red").save(path, format="PNG")
    return path


def _hdf5(path: Path, userblock: int = 0) -> Path:
    with h5py.File(path, "w", userblock_size=userblock) as file:
        file["layer/kernel"] = np.zeros((3, 3), "float32")
    return path


def _imagenet(config: dict, weights: Path, class_index: Path) -> dict:
    config["interpretation"]["imagenet"].update(
        weights=str(weights), class_index=str(class_index), images=[]
    )
    return config


def test_the_imagenet_files_config_names_are_opened(tmp_path: Path) -> None:
    weights, index = _hdf5(tmp_path / "xception.h5"), tmp_path / "classes.json"
    index.write_text(_class_index(1000))
    check(_imagenet(copy.deepcopy(DEFAULT), weights, index), SCHEMA)
    # HDF5 after a user block, as h5py can write it: the signature sits at byte 512.
    check(_imagenet(copy.deepcopy(DEFAULT), _hdf5(tmp_path / "u.h5", 512), index), SCHEMA)
    text = tmp_path / "weights.h5"
    text.write_text("not weights\n")
    short = tmp_path / "short.json"
    short.write_text(_class_index(3))
    with pytest.raises(ConfigError, match=r"\(2 problem\(s\)\)") as info:
        check(_imagenet(copy.deepcopy(DEFAULT), text, short), SCHEMA)
    message = str(info.value)
    assert f"'{text}' is not an HDF5 weights file (it holds text)" in message
    assert f"interpretation.imagenet.weights: '{text}' is not an HDF5" in message
    assert "give Keras' xception_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert f"interpretation.imagenet.class_index: '{short}' has 3 entries, not the 1000" in message
    assert "give Keras' imagenet_class_index.json, or set the key to download" in message


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"", "is empty"),
        (b"PK\x03\x04" + bytes(60), "a zip archive"),
        (b"<!DOCTYPE html><html>Xception</html>", "an HTML page"),
    ],
)
def test_weights_that_are_no_hdf5_file_say_what_they_hold(tmp_path, content, named) -> None:
    weights = tmp_path / "w.h5"
    weights.write_bytes(content)
    index = tmp_path / "i.json"
    index.write_text(_class_index(1000))
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as info:
        check(_imagenet(copy.deepcopy(DEFAULT), weights, index), SCHEMA)
    assert "interpretation.imagenet.weights: " in str(info.value)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "holds a JSON list"),
        (_class_index(1000).replace('["n00000007", "class_7"]', '"class_7"'), "entry '7'"),
    ],
)
def test_a_class_index_of_another_form_is_refused(tmp_path, content, named) -> None:
    index = tmp_path / "i.json"
    index.write_text(content)
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as info:
        check(_imagenet(copy.deepcopy(DEFAULT), _hdf5(tmp_path / "w.h5"), index), SCHEMA)
    assert f"interpretation.imagenet.class_index: '{index}' {named}" in str(info.value)


@pytest.mark.parametrize("key", ["predict.images", "interpretation.images", "imagenet.images"])
def test_a_text_file_named_as_a_photo_is_refused_naming_key_and_entry(tmp_path, key) -> None:
    config = copy.deepcopy(DEFAULT)
    photo = tmp_path / "rex.jpg"
    photo.write_text("shopping list: eggs, milk\n")
    section = config["interpretation"]["imagenet"] if key == "imagenet.images" else None
    if key == "predict.images":
        config["predict"]["images"] = [str(photo)]
    elif key == "interpretation.images":
        config["interpretation"]["images"] = [str(photo)]
    else:
        section["images"] = [str(photo)]
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as info:
        check(config, SCHEMA)
    full_key = "interpretation.imagenet.images" if key == "imagenet.images" else key
    assert f"{full_key}[0] ('{photo}'): it is no picture: it holds text" in str(info.value)
    assert "point the entry at an image file" in str(info.value)
    _png(photo)  # a PNG named .jpg: Pillow knows it by its content
    check(config, SCHEMA)


# Where a value was set: the workflow's config.yaml, each --configfile in order, then --config.
FILES = [
    ("config.yaml", {"segmentation": {"image_size": 200, "train": {"book": {"epochs": 50}}}}),
    ("--configfile a.yaml", {"segmentation": {"image_size": 64}}),
    ("--configfile b.yaml", {"segmentation": {"train": {"book": {"epochs": 3}}}}),
]


def test_the_source_that_set_a_key_last_is_named() -> None:
    assert source_of(["segmentation", "image_size"], FILES, {}) == "--configfile a.yaml"
    assert source_of(["segmentation", "train", "book", "epochs"], FILES, {}) == (
        "--configfile b.yaml"
    )
    given = {"segmentation": {"image_size": "52"}}  # as --config passes nested values
    assert source_of(["segmentation", "image_size"], FILES, given) == "--config"
    assert sources_of(["segmentation", "image_size"], FILES, given) == [
        "config.yaml",
        "--configfile a.yaml",
        "--config",
    ]
    assert source_of(["segmentation", "train", "book", "epochs"], FILES[:1], given) == (
        "config.yaml"
    )
    assert source_of(["segmentation", "models"], FILES, given) is None


def test_where_to_fix_names_each_keys_source() -> None:
    problems = [
        "segmentation.image_size (52): model book and unet (rule train) needs a multiple of 8",
        "segmentation.train.book.epochs: 0 is less than the minimum of 1 (see resources/x.jpg)",
    ]
    line = where_to_fix(problems, FILES, {"segmentation": {"image_size": 52}})
    assert line == (
        "Where to fix: segmentation.image_size in --config; "
        "segmentation.train.book.epochs in --configfile b.yaml."
    )
    assert where_to_fix(["something is wrong, but with no key"], FILES, {}) == (
        "Fix the values in config.yaml, --configfile a.yaml, --configfile b.yaml or --config."
    )


def test_where_to_fix_names_top_level_keys_and_list_items() -> None:
    files = [
        ("config.yaml", {"keras_backend": "tensorflow", "predict": {"images": []}}),
        (
            "--configfile a.yaml",
            {"keras_backend": "torch", "segmentation": {"train": {"book": {"seeds": [1, -2]}}}},
        ),
    ]
    given = {"sedd": "7", "predict": {"images": ["rex.jpg", "b", "x/rex.png"]}}
    problems = [
        "keras_backend: 'torch' is not allowed; allowed values: ['tensorflow', 'jax']",
        "segmentation.train.book.seeds[1]: -2 is less than the minimum of 0",
        "sedd: unknown key; allowed keys: classification, dataset",
        "predict.images[0] ('rex.jpg'), predict.images[2] ('x/rex.png'): they share the name",
    ]
    assert where_to_fix(problems, files, given) == (
        "Where to fix: keras_backend, segmentation.train.book.seeds[1] in --configfile a.yaml; "
        "sedd, predict.images[0], predict.images[2] in --config."
    )
    # A required key that no source sets: nowhere to fix it but to add it.
    assert where_to_fix(["overview: a required key, missing"], files, given) == (
        "Where to fix: overview set nowhere (config.yaml, --configfile a.yaml, --config): add it."
    )


def test_config_files_are_labelled_as_given(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("split: {seed: 1}\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "demo.yaml").write_text("split: {seed: 2}\n")
    files = config_files("config.yaml", [tmp_path / "profiles" / "demo.yaml"], root=tmp_path)
    assert files == [
        ("config.yaml", {"split": {"seed": 1}}),
        ("--configfile profiles/demo.yaml", {"split": {"seed": 2}}),
    ]
    assert source_of(["split", "seed"], files, {}) == "--configfile profiles/demo.yaml"


def test_nested_command_line_lists_are_parsed_item_by_item():
    # --config 'segmentation={train: {book: {seeds: [1, 2]}}}' gives the items as strings.
    config = copy.deepcopy(DEFAULT)
    config["segmentation"]["train"]["book"]["seeds"] = ["1", "2"]
    given = {"segmentation": {"train": {"book": {"seeds": ["1", "2"]}}}}
    parse_nested_strings(config, SCHEMA, given)
    assert config["segmentation"]["train"]["book"]["seeds"] == [1, 2]
    check(config, SCHEMA)


# Profiles: each names itself (`profile: <name>` in profiles/<name>/<name>.yaml, and
# `config: [profile=<name>]` in its config.yaml), so its settings survive a --configfile.


def _profiles(root: Path) -> Path:
    for name, text in {
        "config.yaml": "profile: full\nsplit: {seed: 1, segmentation: {num_val: 9}}\nseeds: [1]\n",
        "profiles/demo/demo.yaml": "profile: demo\nsplit: {seed: 2}\nseeds: [2, 3]\n",
        "profiles/laptop/laptop.yaml": "profile: laptop\n",
        "profiles/slurm/config.yaml": "jobs: 20\n",  # a profile without settings of its own
        "mine.yaml": "split: {seed: 3}\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_every_profile_with_a_settings_file_is_known(tmp_path: Path) -> None:
    root = _profiles(tmp_path)
    assert known_profiles(root) == ["full", "demo", "laptop"]
    assert profile_settings("laptop", root) == root / "profiles/laptop/laptop.yaml"
    for name in ("full", "slurm", "nothing", "../demo", 3, None):
        assert profile_settings(name, root) is None, name
    # This project's own: the demo's settings name their profile.
    assert "demo" in known_profiles(ROOT)
    demo = yaml.safe_load((ROOT / "profiles/demo/demo.yaml").read_text())
    assert demo["profile"] == "demo" and DEFAULT["profile"] == "full"
    profile = yaml.safe_load((ROOT / "profiles/demo/config.yaml").read_text())
    assert profile["config"] == ["profile=demo"]
    assert profile["configfiles"] == ["profiles/demo/demo.yaml"]


def test_a_profiles_settings_go_back_under_a_configfile_that_replaced_them(tmp_path) -> None:
    root = _profiles(tmp_path)
    demo = root / "profiles/demo/demo.yaml"
    assert missing_profile("demo", root, [root / "mine.yaml"]) == demo
    assert missing_profile("demo", root, [root / "mine.yaml", demo]) is None
    assert missing_profile("full", root, [root / "mine.yaml"]) is None
    # config.yaml < the profile's settings < each --configfile < --config; lists whole.
    overrides = {"split": {"seed": 3}, "profile": "demo"}  # mine.yaml, then --config
    config = with_profile(root / "config.yaml", demo, overrides)
    assert config == {
        "profile": "demo",
        "split": {"seed": 3, "segmentation": {"num_val": 9}},
        "seeds": [2, 3],
    }
    assert with_profile(None, demo, {}) == {
        "profile": "demo",
        "split": {"seed": 2},
        "seeds": [2, 3],
    }
    assert merge({"a": {"b": 1}, "c": [1, 2]}, {"a": {"d": 2}, "c": [3]}) == {
        "a": {"b": 1, "d": 2},
        "c": [3],
    }


def test_a_profile_merged_back_is_named_as_the_source_of_its_values(tmp_path) -> None:
    root = _profiles(tmp_path)
    demo = root / "profiles/demo/demo.yaml"
    files = config_files("config.yaml", [root / "mine.yaml"], root=root, profile=("demo", demo))
    assert [label for label, _ in files] == [
        "config.yaml",
        "profiles/demo/demo.yaml (profile demo)",
        "--configfile mine.yaml",
    ]
    assert where_to_fix(["seeds[1]: 3 is not allowed"], files, {}) == (
        "Where to fix: seeds[1] in profiles/demo/demo.yaml (profile demo)."
    )


def test_a_profile_without_settings_is_refused_naming_those_there_are(tmp_path) -> None:
    config = copy.deepcopy(DEFAULT)
    config["profile"] = "laptp"
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as info:
        check(config, SCHEMA, _profiles(tmp_path))
    assert (
        "profile ('laptp'): no settings file profiles/laptp/laptp.yaml; allowed: full, demo, "
        "laptop (full: config.yaml alone)"
    ) in str(info.value)
    config["profile"] = "../demo"
    with pytest.raises(ConfigError, match=r"profile: '../demo' does not match"):
        check(config, SCHEMA)
