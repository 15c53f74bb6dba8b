"""Runs: an architecture and its recipe; inheritance, sweeps, the check's refusals, later stages."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakevision.config import runs
from snakevision.config.check import ConfigError, check

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "config.schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def _config(segmentation_runs: dict, models: list[str]) -> dict:
    config = copy.deepcopy(DEFAULT)
    config["segmentation"]["train"].update(segmentation_runs)
    config["segmentation"]["models"] = models
    return config


def _problems(config: dict) -> str:
    with pytest.raises(ConfigError) as error:
        check(config, SCHEMA)
    return str(error.value)


def test_a_run_inherits_its_architectures_section_but_what_it_gives():
    config = _config({"book_adam": {"architecture": "book", "optimizer": "adam"}}, ["book_adam"])
    check(config, SCHEMA)
    (run,) = runs.task_runs(config, "segmentation").values()
    book = DEFAULT["segmentation"]["train"]["book"]
    assert (run.name, run.architecture, run.key) == (
        "book_adam",
        "book",
        "segmentation.train.book_adam",
    )
    assert run.settings == {**book, "optimizer": "adam"}
    assert run.differs == {"optimizer": "adam"} and run.recipe() == "optimizer adam"
    assert run.seed_settings(1337) == {
        **{k: v for k, v in book.items() if k != "seeds"},
        "optimizer": "adam",
        "seed": 1337,
    }
    with pytest.raises(ValueError, match=r"seed 7 is not among segmentation.train.book_adam"):
        run.seed_settings(7)


def test_an_architectures_own_run_and_a_copy_of_it_differ_in_nothing():
    book = DEFAULT["segmentation"]["train"]["book"]
    config = _config({"book_again": {"architecture": "book", "epochs": book["epochs"]}}, [])
    config["segmentation"]["models"] = ["book", "book_again"]
    found = runs.task_runs(config, "segmentation")
    assert [r.differs for r in found.values()] == [{}, {}]
    assert found["book"].recipe() == ""
    assert found["book_again"].settings == found["book"].settings


def test_editing_the_architectures_section_reaches_only_the_runs_that_inherit_the_value():
    config = _config(
        {
            "book_adam": {"architecture": "book", "optimizer": "adam"},
            "book_fast": {"architecture": "book", "learning_rate": 0.01},
        },
        ["book", "book_adam", "book_fast"],
    )
    before = runs.task_runs(config, "segmentation")
    config["segmentation"]["train"]["book"]["learning_rate"] = 0.0005
    after = runs.task_runs(config, "segmentation")
    changed = [name for name in before if before[name].settings != after[name].settings]
    assert changed == ["book", "book_adam"]  # book_fast gives its own learning rate


def test_a_sweep_expands_into_one_named_run_per_combination():
    grid = {
        "architecture": "book",
        "batch_size": 16,
        "sweep": {"optimizer": ["rmsprop", "adam"], "learning_rate": [0.001, 0.0003]},
    }
    config = _config({"book_grid": grid}, ["unet", "book_grid"])
    check(config, SCHEMA)
    found = runs.task_runs(config, "segmentation")
    assert list(found) == [
        "unet",
        "book_grid~optimizer=rmsprop~learning_rate=0.001",
        "book_grid~optimizer=rmsprop~learning_rate=0.0003",
        "book_grid~optimizer=adam~learning_rate=0.001",
        "book_grid~optimizer=adam~learning_rate=0.0003",
    ]
    last = found["book_grid~optimizer=adam~learning_rate=0.0003"]
    assert last.architecture == "book" and last.key == "segmentation.train.book_grid"
    assert (last.settings["optimizer"], last.settings["learning_rate"]) == ("adam", 0.0003)
    assert last.settings["batch_size"] == 16  # the run's own setting beside its sweep
    # The book's own rmsprop and 0.001 are no difference; the batch and the rest are.
    assert found["book_grid~optimizer=rmsprop~learning_rate=0.001"].differs == {"batch_size": 16}
    assert last.differs == {"batch_size": 16, "optimizer": "adam", "learning_rate": 0.0003}


@pytest.mark.parametrize(
    ("sections", "models", "named"),
    [
        (
            {"deeplab": {"epochs": 5}},
            ["deeplab"],
            "segmentation.train.deeplab.architecture (deeplab): no segmentation architecture "
            "of that name; allowed: book, unet",
        ),
        (
            {"fcn": {"architecture": "convnet"}},
            ["fcn"],
            "segmentation.train.fcn.architecture (convnet): no segmentation architecture",
        ),
        (
            {"convnet": {"architecture": "book"}},
            ["convnet"],
            "segmentation.train.convnet: convnet is an architecture of classification; name "
            "segmentation's run otherwise",
        ),
        (
            {"unet": {**DEFAULT["segmentation"]["train"]["unet"], "architecture": "book"}},
            ["unet"],
            # An architecture's own section is its run: the schema allows no other there.
            "segmentation.train.unet.architecture: unknown key",
        ),
        (
            {"unet_parts": {"architecture": "unet", "micro_batches": 4}},
            ["unet_parts"],
            "segmentation.train.unet_parts.micro_batches (4): unet's batch normalization needs "
            "whole batches",
        ),
        (
            {"unet_grid": {"architecture": "unet", "sweep": {"micro_batches": [1, 2]}}},
            ["unet_grid"],
            "segmentation.train.unet_grid (unet_grid~micro_batches=2).micro_batches (2): unet's "
            "batch normalization",
        ),
        (
            {"book_adamw": {"architecture": "book", "sweep": {"optimizer": ["adam", "adamw"]}}},
            ["book_adamw"],
            "segmentation.train.book_adamw.sweep.optimizer[1]: 'adamw' is not allowed",
        ),
        (
            {"book_typo": {"architecture": "book", "optimiser": "adam"}},
            ["book_typo"],
            "segmentation.train.book_typo.optimiser: unknown key",
        ),
        (
            {"book_seeds": {"architecture": "book", "sweep": {"seeds": [[1], [2]]}}},
            ["book_seeds"],
            "segmentation.train.book_seeds.sweep.seeds: unknown key",
        ),
    ],
)
def test_the_check_refuses_a_run_it_cannot_train_naming_the_key(sections, models, named):
    assert named in _problems(_config(sections, models))


def test_a_run_listed_by_both_tasks_is_refused():
    config = _config({"convnet_twin": {"architecture": "book"}}, ["book", "convnet_twin"])
    config["classification"]["train"]["convnet_twin"] = {"architecture": "convnet"}
    config["classification"]["models"] = ["convnet", "convnet_twin"]
    assert "classification.models[1] (convnet_twin): segmentation.models lists it too" in (
        _problems(config)
    )


def test_later_stages_use_the_runs_named_after_their_architecture_unless_listed():
    config = _config({"book_adam": {"architecture": "book", "optimizer": "adam"}}, [])
    config["segmentation"]["models"] = ["book_adam", "book", "unet"]
    found = runs.all_runs(config)
    assert runs.chosen(found, None) == {
        "segmentation": ["book", "unet"],
        "classification": ["convnet", "mini_xception"],
    }
    assert runs.chosen(found, ["book_adam", "convnet"]) == {
        "segmentation": ["book_adam"],
        "classification": ["convnet"],
    }
    only_variants = {"segmentation": {"book_adam": found["segmentation"]["book_adam"]}}
    assert runs.chosen(only_variants, None) == {"segmentation": ["book_adam"]}  # the first
    problems = runs.listing_problems(found, ["book_adam", "resnet"], "predict.models")
    assert problems == [
        "predict.models[1] (resnet): no run of that name; allowed: book_adam, book, unet, "
        "convnet, mini_xception"
    ]


def test_later_stage_lists_are_checked_by_the_config_check():
    config = copy.deepcopy(DEFAULT)
    config["predict"]["models"] = ["book", "unte"]
    config["interpretation"]["models"] = ["book"]  # a segmentation run: nothing to explain
    config["interpretation"]["gradcam"]["layers"] = {"convnett": "conv5"}
    text = _problems(config)
    assert "predict.models[1] (unte): no run of that name" in text
    assert "interpretation.models[0] (book): no run of that name; allowed: convnet" in text
    assert "interpretation.gradcam.layers.convnett: no classification run or architecture" in text


def test_the_lookup_table_holds_what_rules_look_up_per_run():
    config = _config({"book_b16": {"architecture": "book", "batch_size": 16}}, ["book", "book_b16"])
    table = runs.lookup_table(runs.all_runs(config), {"segmentation": 200, "classification": 180})
    book, small = table["segmentation"]["book"], table["segmentation"]["book_b16"]
    assert small["architecture"] == "book" and small["seeds"] == [1337]
    assert small["batch"] == {"key": "segmentation.train.book_b16", "batch_size": 16}
    assert small["length"] == {"epochs": 50, "patience": None}
    assert table["classification"]["convnet"]["published"] == ("accuracy", 0.835)
    # On a CPU auto splits a batch into parts of 8 images: both hold one part's activations.
    assert small["mem_mb"] == book["mem_mb"] > 1500
