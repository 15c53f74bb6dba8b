"""A user's pictures in config: names, checks before any job, fetching over real HTTP."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from snakevision.data import images, pictures
from snakevision.data.archives import DownloadError
from snakevision.data.images import DecodeError


def png_bytes(mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (30, 20), "red" if mode != "L" else 128).save(buffer, format="PNG")
    return buffer.getvalue()


def test_names_are_the_file_stems() -> None:
    assert pictures.name_of("photos/Rex.jpg") == "Rex"
    assert pictures.name_of("https://host/a/my%20cat.png?size=2") == "my cat"
    assert pictures.name_of("https://img-datasets.s3.amazonaws.com/elephant.jpg") == "elephant"
    assert pictures.local_path("https://h/x/cat.jpg", "res") == "res/cat.jpg"
    assert pictures.local_path("mine/dog.png", "res") == "mine/dog.png"


def test_problems_name_the_key_and_the_entry(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("Rex.jpg").write_bytes(png_bytes())
    Path("other").mkdir()
    Path("other/Rex.png").write_bytes(png_bytes())
    found = pictures.problems(
        [
            "Rex.jpg",
            "missing.jpg",
            "https://host/my%20cat.jpg",
            "https://host/",
            "ftp://host/x.jpg",
            "other/Rex.png",
        ],
        "interpretation.images",
    )
    text = "\n".join(found)
    # Each item by its index, as the schema's problems name list items, and its entry.
    assert "interpretation.images[1] ('missing.jpg'): no such file" in text
    assert "interpretation.images[2] ('https://host/my%20cat.jpg'): its file name" in text
    assert "'my cat.jpg' cannot name outputs" in text
    assert "[3] ('https://host/'): its file name '' cannot name outputs" in text
    # ftp:// is no URL we fetch: taken as a local path, which does not exist.
    assert "[4] ('ftp://host/x.jpg'): no such file" in text
    assert (
        "interpretation.images[0] ('Rex.jpg'), interpretation.images[5] ('other/Rex.png'): "
        "they share the name 'Rex'"
    ) in text
    assert len(found) == 5
    assert pictures.problems(["Rex.jpg", "https://host/cat.jpg"], "k") == []


def test_fetch_saves_a_picture(http_server, tmp_path: Path) -> None:
    http_server.files["/pets/cat.png"] = png_bytes()
    target = tmp_path / "cat.png"
    pictures.fetch(http_server.url("/pets/cat.png"), target, "k", retries=1, backoff=0, timeout=5)
    assert Image.open(target).size == (30, 20)
    assert [p.name for p in tmp_path.iterdir()] == ["cat.png"]


def test_fetch_refuses_a_web_page_naming_the_entry(http_server, tmp_path: Path) -> None:
    http_server.files["/cat.jpg"] = b"<!DOCTYPE html><html><body>A cat</body></html>"
    url = http_server.url("/cat.jpg")
    with pytest.raises(DecodeError) as raised:
        pictures.fetch(url, tmp_path / "cat.jpg", "interpretation.images", retries=1, backoff=0)
    assert f"interpretation.images entry '{url}'" in str(raised.value)
    assert "HTML page" in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # nothing left under the output's name, nor beside it


def test_fetch_of_a_missing_url_fails_without_retrying_for_long(http_server, tmp_path) -> None:
    with pytest.raises(DownloadError, match="404"):
        pictures.fetch(http_server.url("/gone.jpg"), tmp_path / "gone.jpg", "k", retries=3)
    assert len(http_server.requests) == 1


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_pictures_load_as_rgb(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(png_bytes(mode))
    image = images.Picture("pic", path, "k entry 'pic.png'").load()
    assert image.mode == "RGB" and np.asarray(image).shape == (20, 30, 3)


def test_a_picture_that_is_not_one_names_its_entry(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list")
    with pytest.raises(DecodeError, match=r"k entry 'notes\.jpg': .*notes\.jpg is not a usable"):
        images.Picture("notes", path, "k entry 'notes.jpg'").load()


def test_chosen_takes_the_first_test_cats_and_dogs_then_the_entries(tmp_path: Path) -> None:
    index = pd.DataFrame(
        {
            "stem": ["Bengal_1", "pug_1", "Bengal_2", "pug_2", "pug_3"],
            "species": ["cat", "dog", "cat", "dog", "dog"],
            "image": [f"img/{s}.jpg" for s in ["Bengal_1", "pug_1", "Bengal_2", "pug_2", "pug_3"]],
            "status": "ok",
        }
    )
    split = pd.DataFrame(
        {
            "stem": ["pug_3", "pug_1", "Bengal_2", "Bengal_1", "pug_2"],
            "task": "classification",
            "split": ["train", "test", "test", "test", "test"],
        }
    )
    index.to_csv(tmp_path / "index.csv", index=False)
    split.to_csv(tmp_path / "split.csv", index=False)
    tables = tmp_path / "index.csv", tmp_path / "split.csv"
    settings = {"test_images": 1, "entries": {"k": ["x/Rex.jpg"]}}
    found = pictures.chosen(settings, ["x/Rex.jpg"], *tables)
    assert [p.name for p in found] == ["Bengal_2", "pug_1", "Rex"]
    assert found[0].path == Path("img/Bengal_2.jpg") and found[2].origin == "k entry 'x/Rex.jpg'"
    with pytest.raises(ValueError, match="share a name"):
        pictures.chosen({"test_images": 1, "entries": {"k": ["pug_1.jpg"]}}, ["a"], *tables)
    # No test pictures: the tables are not read.
    assert (
        pictures.chosen({"test_images": 0, "entries": {"k": ["a/b.png"]}}, ["b.png"])[0].name == "b"
    )


CONFIG_CASES = {
    "missing picture": (
        {"images": ["photos/rex.jpg"]},
        "interpretation.images[0] ('photos/rex.jpg'): no such file",
    ),
    "unusable URL": (
        {"images": ["https://host:99999/tabby.jpg"]},
        "interpretation.images[0] ('https://host:99999/tabby.jpg'): it cannot be parsed",
    ),
    "more test pictures than the test split": (
        {"test_images": 16},
        "interpretation.test_images (16) exceeds split.classification.test (10)",
    ),
    "weights file missing": (
        {"imagenet": {"weights": "xception.h5"}},
        "interpretation.imagenet.weights: no such file 'xception.h5'",
    ),
    "the same name in both lists": (
        {"images": ["https://a/elephant.jpg"]},
        "interpretation.images and interpretation.imagenet.images both name pictures ['elephant']",
    ),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_config_check_refuses_unusable_interpretation_settings(case, tmp_path, monkeypatch):
    import copy

    import yaml
    from snakevision.config.check import ConfigError, check
    from workflow import REPO

    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["split"]["classification"]["test"] = 10
    override, message = CONFIG_CASES[case]
    settings = copy.deepcopy(config["interpretation"])
    settings.update({k: v for k, v in override.items() if k != "imagenet"})
    settings["imagenet"].update(override.get("imagenet", {}))
    config["interpretation"] = settings
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as raised:
        check(config, REPO / "config.schema.yaml")
    assert message in str(raised.value)
    # With the ImageNet Xception left out, its pictures and files are not checked.
    settings["imagenet"]["weights"] = "none"
    if case in ("weights file missing", "the same name in both lists"):
        check(config, REPO / "config.schema.yaml")


def test_a_folder_output_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    from snakevision.files import atomic

    target = tmp_path / "gradcam" / "convnet"
    target.mkdir(parents=True)
    (target / "old.png").write_text("previous run")
    with pytest.raises(RuntimeError), atomic(target, folder=True) as folder:
        (folder / "new.png").write_text("half done")
        raise RuntimeError("the job fails midway")
    assert [p.name for p in target.iterdir()] == ["old.png"]  # untouched
    with atomic(target, folder=True) as folder:
        (folder / "pug_1").mkdir()
        (folder / "pug_1" / "heatmap.png").write_text("new")
    assert sorted(p.name for p in target.rglob("*")) == ["heatmap.png", "pug_1"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["convnet"]  # no temp folder left


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        (["photos/rex.jpg"], "predict.images[0] ('photos/rex.jpg'): no such file"),
        (["https://host:99999/rex.jpg"], "predict.images[0] ('https://host:99999/rex.jpg')"),
        (
            ["https://a.example/pets/cat.jpg"],  # the ImageNet list fetches another cat.jpg
            "predict.images[0] ('https://a.example/pets/cat.jpg') and interpretation.images[0] "
            "('https://img-datasets.s3.amazonaws.com/cat.jpg') would both be fetched into "
            "resources/pictures/cat.jpg",
        ),
    ],
)
def test_config_check_refuses_unusable_photos_to_predict(photos, message, tmp_path, monkeypatch):
    import yaml
    from snakevision.config.check import ConfigError, check
    from workflow import REPO

    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["predict"]["images"] = photos
    with pytest.raises(ConfigError, match=r"\(1 problem\(s\)\)") as raised:
        check(config, REPO / "config.schema.yaml")
    assert message in str(raised.value)
    Path("photos").mkdir()
    Path("photos/rex.jpg").write_bytes(b"")
    config["predict"]["images"] = ["photos/rex.jpg"]
    with pytest.raises(
        ConfigError, match=re.escape("predict.images[0] ('photos/rex.jpg'): it is empty")
    ):
        check(config, REPO / "config.schema.yaml")
    # A picture's header is enough: the rest is the job's to decode.
    Path("photos/rex.jpg").write_bytes(png_bytes()[:60])
    config["predict"]["images"] = ["photos/rex.jpg", "https://a.example/rex.png"]
    with pytest.raises(ConfigError, match="share the name 'rex'"):
        check(config, REPO / "config.schema.yaml")
    config["predict"]["images"] = ["photos/rex.jpg"]
    check(config, REPO / "config.schema.yaml")


def test_a_failed_fetch_says_how_to_get_the_picture_by_hand(http_server, tmp_path) -> None:
    http_server.status["/cat.jpg"] = 503  # may pass: retried, then given up
    url, target = http_server.url("/cat.jpg"), tmp_path / "pictures" / "cat.jpg"
    with pytest.raises(DownloadError) as raised:
        pictures.fetch(url, target, "interpretation.imagenet.images", retries=2, backoff=0)
    message = str(raised.value)
    assert f"could not download {url} after 2 attempt(s)" in message
    assert f"download the picture by hand to {target} (`curl -L -o {target} {url}`)" in message
    assert "give a local path to the picture in interpretation.imagenet.images" in message
    # Nothing written for the archives: no temporary name, no checksum, no archive url.
    for archive_words in (".fetching-", "sum", "archive"):
        assert archive_words not in message
    assert len(http_server.requests) == 2


def test_a_content_hash_follows_the_content_not_the_date(tmp_path: Path) -> None:
    photo = tmp_path / "rex.png"
    photo.write_bytes(png_bytes())
    first = pictures.content_hash(str(photo))
    assert first == hashlib.sha256(png_bytes()).hexdigest()
    assert pictures.content_hash(str(photo)) == first
    # Replaced by another picture dated earlier (cp --preserve): the hash changes.
    os.utime(photo, ns=(10**18, 10**18))
    older = tmp_path / "older.png"
    older.write_bytes(png_bytes("L"))
    os.utime(older, ns=(10**17, 10**17))
    shutil.copy2(older, photo)
    assert photo.stat().st_mtime_ns == 10**17
    assert pictures.content_hash(str(photo)) == hashlib.sha256(png_bytes("L")).hexdigest()
    assert pictures.content_hash("https://host/rex.png") is None
    assert pictures.content_hash(str(tmp_path / "missing.png")) is None


def test_the_header_check_reads_no_pixels(tmp_path: Path) -> None:
    # A 3000 x 3000 JPEG cut after its header: opened, not decoded, so it passes here.
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 3000), "blue").save(buffer, format="JPEG")
    photo = tmp_path / "big.jpg"
    photo.write_bytes(buffer.getvalue()[:2000])
    assert pictures.header_problem(photo) is None
    with pytest.raises(DecodeError):
        images.Picture("big", photo, "k entry 'big.jpg'").load()
    page = tmp_path / "cat.jpg"
    page.write_text("<!DOCTYPE html><html><body>A cat</body></html>")
    assert "an HTML page" in pictures.header_problem(page)
