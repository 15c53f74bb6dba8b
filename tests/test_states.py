"""State folders per setting: keys, edited code, damaged states, early stopping, the listing."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re

import numpy as np
import pandas as pd
import pytest
from snakevision.job import console
from snakevision.models import segmentation
from snakevision.training import states, trainer
from snakevision.training.epoch_log import EpochLog, duration, per_epoch_seconds
from snakevision.training.identity import code_checksums
from test_training import SIZE, FailingImages, state_folder, tiny_data

SEGMENTATION = trainer.OBJECTIVES["segmentation"]
ADAM = trainer.Settings(epochs=2, batch_size=8, precision="float32", optimizer="adam")


def build():
    return segmentation.book(SIZE, 3)


def paths(folder, **more):
    return dict(
        model_path=folder / "model.keras",
        history_path=folder / "history.csv",
        state_dir=folder / ".train_state",
        **more,
    )


def trained_lines(text):
    """The epochs a job trained, from its full log lines (replayed ones end otherwise)."""
    return [int(e) for e in re.findall(r"epoch (\d+)/\d+: .*images/s$", text, re.MULTILINE)]


def test_the_key_is_the_identity_and_the_difference_is_named():
    identity = {"model": "book", "settings": {"learning_rate": 0.001, "seed": 1}, "code": {}}
    other = {**identity, "settings": {"learning_rate": 0.01, "seed": 1}}
    assert states.key(identity) == states.key(json.loads(json.dumps(identity)))
    assert re.fullmatch(r"[0-9a-f]{12}", states.key(identity))
    assert states.key(identity) != states.key(other)
    assert states.differences(identity, other) == ["settings.learning_rate"]
    assert states.differences(identity, {**identity, "model": "unet"}) == ["model"]


def test_code_is_named_from_its_scripts_folder_and_known_by_its_content(tmp_path):
    code = tmp_path / "project" / "scripts" / "snakevision" / "trainer.py"
    code.parent.mkdir(parents=True)
    code.write_text("a = 1\n")
    before = code_checksums([code])
    assert list(before) == ["scripts/snakevision/trainer.py"]  # wherever the project lies
    code.write_text("a = 1\n")
    assert code_checksums([str(code)]) == before  # rewritten alike: the same code
    code.write_text("a = 2\n")
    assert code_checksums([code]) != before
    # The job's plumbing (logs, console, GPUs) is no training code: its edits train nothing.
    plumbing = tmp_path / "project" / "scripts" / "snakevision" / "job" / "console.py"
    plumbing.parent.mkdir()
    plumbing.write_text("b = 1\n")
    assert code_checksums([code, plumbing]) == code_checksums([code])


def test_edited_training_code_trains_in_a_state_of_its_own(tmp_path, caplog):
    images, masks = tiny_data(n=16)
    data = ((images, masks), (images[:8], masks[:8]))
    code = tmp_path / "scripts" / "train.py"
    code.parent.mkdir()
    code.write_text("# the training script\n")
    first = trainer.fit(build, SEGMENTATION, ADAM, *data, **paths(tmp_path), code=[code])
    state = state_folder(tmp_path / ".train_state")
    with caplog.at_level(logging.INFO):  # unchanged code: served
        trainer.fit(build, SEGMENTATION, ADAM, *data, **paths(tmp_path), code=[code])
    assert trained_lines(caplog.text) == [] and "all 2 epochs were trained before" in caplog.text
    code.write_text("# the training script, edited\n")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        history = trainer.fit(build, SEGMENTATION, ADAM, *data, **paths(tmp_path), code=[code])
    assert trained_lines(caplog.text) == [1, 2]
    assert "differs in code.scripts/train.py" in caplog.text
    folders = [p for p in (tmp_path / ".train_state").iterdir() if p.is_dir()]
    assert len(folders) == 2 and state in folders  # the first state stays
    (new,) = [p for p in folders if p != state]
    codes = [json.loads((f / states.IDENTITY).read_text())["code"] for f in (state, new)]
    assert codes[0] != codes[1]
    # The same code trains alike: the new state's epochs are the old one's.
    pd.testing.assert_frame_equal(history[["loss", "val_loss"]], first[["loss", "val_loss"]])


def test_a_damaged_state_is_trained_afresh_and_no_other_state_is_touched(tmp_path, caplog):
    images, masks = tiny_data(n=16)
    data = ((images, masks), (images[:8], masks[:8]))
    root = tmp_path / ".train_state"
    other = dataclasses.replace(ADAM, learning_rate=5e-4)
    trainer.fit(build, SEGMENTATION, other, *data, **paths(tmp_path))
    beside = state_folder(root)
    kept = {p.name: p.read_bytes() for p in beside.iterdir()}
    first = trainer.fit(build, SEGMENTATION, ADAM, *data, **paths(tmp_path))
    (state,) = [p for p in root.iterdir() if p.is_dir() and p != beside]
    damages = {
        # what is damaged: the file, its new content, the reason logged
        "identity": ("run.json", b"{not json", "has an unreadable run.json"),
        "history": ("history.csv", b"\x00\x01garbage\n\x02", "cannot be loaded"),
        "served model": (
            sorted(state.glob("best-*.keras"))[-1].name,
            b"PK\x03\x04 cut short",
            "cannot be loaded (best-",
        ),
    }
    for name, (file, content, why) in damages.items():
        (state / file).write_bytes(content)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            history = trainer.fit(build, SEGMENTATION, ADAM, *data, **paths(tmp_path))
        assert re.search(
            r"WARNING .*nothing to resume: starting at epoch 1 \(starting afresh: the state in "
            + re.escape(f"{state} {why}"),
            caplog.text,
        ), name
        assert trained_lines(caplog.text) == [1, 2], name
        pd.testing.assert_frame_equal(history[["loss", "val_loss"]], first[["loss", "val_loss"]])
        assert {p.name: p.read_bytes() for p in beside.iterdir()} == kept, name


def border_data():
    """Validation masks all border: val_loss is lowest at epoch 1, then worse (tested)."""
    images, masks = tiny_data()
    return (images, masks), (images[:8], np.full_like(masks[:8], 2))


def test_patience_stops_early_alike_straight_resumed_and_served(tmp_path, caplog):
    settings = dataclasses.replace(ADAM, epochs=8, patience=3)
    train, val = border_data()
    straight = trainer.fit(build, SEGMENTATION, settings, train, val, **paths(tmp_path / "a"))
    stop = len(straight)
    assert stop < 8 and stop == 1 + 3  # the best at epoch 1, three epochs without improvement
    run = tmp_path / "b"
    # Interrupted after an epoch or two, then resumed.
    with pytest.raises(Exception, match="Interrupt"):
        trainer.fit(
            build,
            SEGMENTATION,
            settings,
            (FailingImages(train[0], 11), train[1]),
            val,
            **paths(run),
        )
    done = len(pd.read_csv(state_folder(run / ".train_state") / "history.csv"))
    assert 1 <= done < stop
    with caplog.at_level(logging.INFO):
        resumed = trainer.fit(build, SEGMENTATION, settings, train, val, **paths(run))
    assert f"resuming from epoch {done + 1} of 8" in caplog.text
    learned = ["loss", "val_loss", "val_mean_iou"]
    pd.testing.assert_frame_equal(resumed[learned], straight[learned])
    assert f"epoch {stop}/8: val mean IoU" in caplog.text
    assert "stopping early: val_loss has not improved for 3 epochs (best at epoch 1)" in caplog.text
    # More epochs with the same patience: the stop was met, nothing is trained.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        served = trainer.fit(
            build, SEGMENTATION, dataclasses.replace(settings, epochs=12), train, val, **paths(run)
        )
    assert trained_lines(caplog.text) == []
    assert (
        f"training stopped early at epoch {stop} of 12 (val_loss had not improved for 3 epochs) "
        "before"
    ) in caplog.text
    pd.testing.assert_frame_equal(served, resumed)
    # Without patience the state trains on from where it stopped.
    caplog.clear()
    longer = dataclasses.replace(settings, epochs=stop + 1, patience=None)
    with caplog.at_level(logging.INFO):
        on = trainer.fit(build, SEGMENTATION, longer, train, val, **paths(run))
    assert trained_lines(caplog.text) == [stop + 1]
    assert on.epoch.tolist() == list(range(1, stop + 2))


def test_the_console_line_gives_the_headline_metric_and_the_time_left(tmp_path):
    read, write = os.pipe()
    console.attach(write, "train segmentation/book/seed_1337")
    try:
        log = EpochLog(
            tmp_path / "history.csv", 8, "float32", console=("val_mean_iou", "val mean IoU")
        )
        log.rows = [{"epoch": 1, "val_loss": 1.0, "val_mean_iou": 0.43}]
        log.rows.append({"epoch": 2, "val_loss": 0.9, "val_mean_iou": 0.412})
        log.seconds = [95.0, 61.0, 62.6]  # the first epoch compiles: left out
        assert log.progress(3, 50, stopped=False) == (
            "epoch 3/50: val mean IoU 0.412 (best 0.430), 61.8 s/epoch, about 48 min left"
        )
        log.patience = 5
        assert log.progress(3, 50, stopped=False).endswith("at most 48 min left")
        assert log.progress(50, 50, stopped=False).endswith("61.8 s/epoch, done")
        console.say(log.progress(3, 50, stopped=False))
    finally:
        console.attach(None, "")
        os.close(write)
    with os.fdopen(read) as shown:
        assert shown.read() == (
            "[train segmentation/book/seed_1337] epoch 3/50: val mean IoU 0.412 (best 0.430), "
            "61.8 s/epoch, at most 48 min left\n"
        )
    assert per_epoch_seconds([30.0]) == 30.0
    assert [duration(s) for s in (40, 95, 2900, 7500)] == ["40 s", "2 min", "48 min", "2 h 05 min"]


def fake_state(root, name, epochs, bests):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"epoch-{epochs:04d}.weights.h5").write_bytes(b"w" * 1000)
    for epoch in bests:
        (folder / f"best-{epoch:04d}.keras").write_bytes(b"b" * 2000)
    return folder


def test_the_listing_shows_each_state_and_prune_keeps_those_in_use(tmp_path, capsys):
    root = tmp_path / "results/segmentation/book/seed_1/.train_state"
    used = fake_state(root, "aaaaaaaaaaaa", 8, [1, 2, 5])
    old = fake_state(root, "bbbbbbbbbbbb", 6, [1])
    states.finish(root, used, 8)
    assert states.main([str(tmp_path / "results")]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith(f"{used}  8 epochs, 3 best checkpoint(s), 0.0 MB, ")
    assert shown[0].endswith(", in use") and shown[1].endswith(", not in use")
    assert shown[1].startswith(f"{old}  6 epochs, 1 best checkpoint(s)")
    assert old.exists()
    assert states.main(["--prune", str(tmp_path / "results")]) == 0
    assert used.exists() and not old.exists()
    assert capsys.readouterr().out.splitlines()[1].endswith("not in use, deleted")


def test_a_claim_names_an_older_layouts_files_and_leaves_them(tmp_path, caplog):
    root = tmp_path / ".train_state"
    root.mkdir()
    (root / "history.csv").write_text("epoch,val_loss\n1,0.5\n")  # what the old layout kept
    identity = {"model": "book", "settings": {}}
    with caplog.at_level(logging.INFO):
        folder, why = states.claim(root, identity)
    assert f"files of an older layout in {root} are not used (history.csv)" in caplog.text
    assert folder == root / states.key(identity) and why.startswith("no state for these settings")
    assert (root / "history.csv").exists()
    assert json.loads((folder / "run.json").read_text()) == identity
    assert states.claim(root, identity) == (folder, "")  # claimed again: kept as it is
