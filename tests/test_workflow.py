"""The whole workflow through the real snakemake CLI: the demo profile, reruns, the report."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import zipfile
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from workflow import DEMO, demo_config, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

CONTRACT = [
    "results/data/index.csv",
    "results/data/split.csv",
    "results/data/segmentation/split.csv",
    "results/data/classification/split.csv",
    "results/data/overview.png",
    *(
        f"results/data/segmentation/{s}_{k}.npy"
        for s in ("train", "val")
        for k in ("images", "masks")
    ),
    *(
        f"results/data/classification/{s}_{k}.npy"
        for s in ("train", "val", "test")
        for k in ("images", "labels")
    ),
    *(
        f"results/segmentation/{m}/seed_{s}/{f}"
        for m in ("book", "unet")
        for s in (1337, 1)  # the demo's two seeds
        for f in ("model.keras", "history.csv", "metrics.json", "curves.png")
    ),
    *(
        f"results/segmentation/{m}/{f}"
        for m in ("book", "unet")
        for f in ("summary.json", "masks.png")
    ),
    "results/segmentation/comparison.csv",
    "results/segmentation/comparison.png",
    "results/segmentation/seeds.png",
    *(
        f"results/classification/{m}/seed_1337/{f}"
        for m in ("convnet", "mini_xception")
        for f in ("model.keras", "history.csv", "metrics.json", "curves.png")
    ),
    *(f"results/classification/{m}/summary.json" for m in ("convnet", "mini_xception")),
    "results/classification/seeds.png",
    *(
        f"results/classification/summaries/{m}.txt"
        for m in ("convnet", "mini_xception", "residual_demo", "projection_demo", "pooling_demo")
    ),
    "results/classification/comparison.csv",
    "results/predict/pet/masks.png",
    "results/predict/pet/classes.json",
    "results/metrics.csv",
]


def test_demo_produces_every_output_of_the_contract(demo):
    missing = [p for p in CONTRACT if not (demo / p).is_file()]
    assert not missing
    for rule in ("train", "index", "arrays"):
        assert list((demo / "logs").rglob(f"*{rule.split('_')[0]}*.log")), rule
    assert list((demo / "benchmarks").rglob("*.tsv"))
    # A finished training keeps its state (.train_state/<key>/), named as the one its outputs
    # came from, for serving other epochs or training on, and its TensorBoard events.
    current = list((demo / "results").rglob(".train_state/current.json"))
    assert len(current) == 6
    for path in current:
        assert (path.parent / json.loads(path.read_text())["state"] / "history.csv").is_file()
    for run in ("segmentation/book/seed_1", "classification/convnet/seed_1337"):
        for split in ("train", "validation"):
            events = list((demo / "logs/tensorboard" / run).glob(f"*/{split}/events.out.*"))
            assert events, (run, split)


def test_demo_arrays_follow_the_split(demo):
    split = pd.read_csv(demo / "results/data/split.csv")
    index = pd.read_csv(demo / "results/data/index.csv", keep_default_na=False)
    for task, size, names in (
        ("segmentation", 64, ("train", "val")),
        ("classification", 80, ("train", "val", "test")),
    ):
        for name in names:
            images = np.load(demo / f"results/data/{task}/{name}_images.npy", mmap_mode="r")
            rows = split[(split.task == task) & (split.split == name)]
            assert images.shape == (len(rows), size, size, 3) and images.dtype == np.uint8
    masks = np.load(demo / "results/data/segmentation/train_masks.npy")
    assert set(np.unique(masks)) == {0, 1, 2}
    labels = np.load(demo / "results/data/classification/test_labels.npy")
    species = index.drop_duplicates("stem").set_index("stem").species
    test = split[(split.task == "classification") & (split.split == "test")]
    assert labels.tolist() == [0 if species[s] == "cat" else 1 for s in test.stem]
    assert set(index.reason) >= {"", "not an image"}


@pytest.mark.parametrize("model", ["book", "unet"])
def test_demo_segmentation_beats_the_majority_class(demo, model):
    run = demo / f"results/segmentation/{model}/seed_1337"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["num_images"] == 96
    baseline = metrics["majority_baseline"]["mean_iou"]
    assert metrics["mean_iou"] > baseline + 0.1, metrics
    assert metrics["iou"]["pet"] > 0.2, metrics
    history = pd.read_csv(run / "history.csv")
    assert history.epoch.tolist() == list(range(1, 7))
    assert {
        "loss",
        "val_loss",
        "val_pixel_accuracy",
        "val_mean_iou",
        "seconds",
        "images_per_s",
        "precision",
    } <= set(history.columns)
    assert (history.precision == "float32").all()


def test_demo_unet_outdoes_the_book_model_on_the_same_training(demo):
    # Same epochs, batch, optimizer and data (profiles/demo/demo.yaml): the skip connections
    # recover the thin border the book's model never learns, and the pet's outline.
    table = pd.read_csv(demo / "results/segmentation/comparison.csv").set_index("run")
    assert table.index.tolist() == ["book", "unet"]  # the book's model first
    book, unet = table.loc["book"], table.loc["unet"]
    # Means over the two seeds.
    assert unet.iou_border >= 2 * book.iou_border and unet.iou_border > 0.1, table
    assert unet.mean_iou >= book.mean_iou + 0.05, table
    for model in ("book", "unet"):  # every metric of its seeds' metrics.json
        runs = [
            json.loads((demo / f"results/segmentation/{model}/seed_{s}/metrics.json").read_text())
            for s in (1337, 1)
        ]
        assert table.loc[model, "mean_iou"] == pytest.approx(np.mean([m["mean_iou"] for m in runs]))
        assert table.loc[model, "mean_iou_sd"] == pytest.approx(
            np.std([m["mean_iou"] for m in runs], ddof=1)
        )
        assert table.loc[model, "iou_pet"] == pytest.approx(
            np.mean([m["iou"]["pet"] for m in runs])
        )
        assert table.loc[model, "num_images"] == runs[0]["num_images"]
        assert table.loc[model, "params"] == runs[0]["params"] > 0
        assert table.loc[model, "seeds"] == 2


def test_demo_classifiers_beat_chance(demo):
    for model in ("convnet", "mini_xception"):
        run = demo / f"results/classification/{model}/seed_1337"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["num_images"] == 120
        # 0.5 is chance; with 120 test images, 0.62 is about 2.6 standard errors above it.
        assert metrics["accuracy"] > 0.62, (model, metrics)
    table = pd.read_csv(demo / "results/classification/comparison.csv")
    assert table.run.tolist() == ["convnet", "mini_xception"]
    assert table.architecture.tolist() == ["convnet", "mini_xception"]
    assert table.book_accuracy.tolist() == [0.835, 0.908]
    every = pd.read_csv(demo / "results/metrics.csv")
    assert {"segmentation", "classification"} == set(every.task)
    assert set(every[every.task == "segmentation"].run) == {"book", "unet"}


def test_demo_figures_are_pictures(demo):
    for figure in (
        "data/overview.png",
        "segmentation/book/seed_1/curves.png",
        "segmentation/seeds.png",
        "classification/seeds.png",
        "segmentation/unet/masks.png",
        "segmentation/comparison.png",
        "classification/convnet/seed_1337/curves.png",
    ):
        with Image.open(demo / "results" / figure) as image:
            assert image.format == "PNG" and min(image.size) > 200


def first_test_pictures(workdir):
    """The stems of the first cat and the first dog of the classification test split."""
    split = pd.read_csv(workdir / "results/data/classification/split.csv")
    index = pd.read_csv(workdir / "results/data/index.csv", keep_default_na=False)
    index = index.drop_duplicates("stem").set_index("stem")
    test = split[split.split == "test"].stem.tolist()
    return [next(s for s in test if index.species[s] == kind) for kind in ("cat", "dog")], index


def test_demo_explains_both_classifiers(demo):
    stems, index = first_test_pictures(demo)
    results = demo / "results/interpretation"
    # Conv and pooling layers: the convnet's 5 + 4; the mini Xception's first conv, then per
    # block two separable convs, a pooling and the shortcut's conv.
    for model, shown in (("convnet", 9), ("mini_xception", 1 + 5 * 4)):
        activations = results / "activations" / model
        assert sorted(p.name for p in activations.iterdir() if p.is_dir()) == sorted(stems)
        for stem in stems:
            names = sorted(p.name for p in (activations / stem).iterdir())
            assert len(names) == shown + 1 and names[-1] == "input.png", names
            assert names[0].startswith("01_conv1")
            gradcam = results / "gradcam" / model / stem
            overlay, original = gradcam / "overlay.jpg", demo / index.image[stem]
            with Image.open(overlay) as overlay, Image.open(original) as original:
                assert overlay.size == original.size  # the picture's own resolution
            predictions = json.loads((gradcam / "predictions.json").read_text())
            probabilities = {c["class"]: c["probability"] for c in predictions["top"]}
            assert set(probabilities) == {"cat", "dog"}
            assert predictions["explained"]["class"] == max(probabilities, key=probabilities.get)
    # The demo's 16 filters in a 4x4 grid, each 80 px less the 10 px crop at each edge.
    side = 4 * (80 - 2 * 10) + 3 * 5
    for figure in ("convnet/conv1", "convnet/conv3", "mini_xception/block3_sepconv1"):
        with Image.open(results / "filters" / f"{figure}.png") as grid:
            assert grid.size == (side, side)
    assert not (results / "gradcam/xception_imagenet").exists()  # imagenet: none


def test_imagenet_branch_runs_from_a_weights_file(demo, tmp_path, http_server):
    import keras  # only here: the other workflow tests need no Keras in the test process

    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    weights = tmp_path / "xception.weights.h5"
    keras.applications.Xception(weights=None).save_weights(weights)  # random: same arithmetic
    classes = tmp_path / "classes.json"
    classes.write_text(json.dumps({str(i): [f"n{i:08d}", f"thing_{i}"] for i in range(1000)}))
    stems, index = first_test_pictures(copy)
    (copy / "mine").mkdir()
    shutil.copy(copy / index.image[stems[0]], copy / "mine/tabby.jpg")
    http_server.files["/pictures/elephant.jpg"] = (copy / index.image[stems[1]]).read_bytes()
    override = {
        "interpretation": {
            "imagenet": {
                "weights": str(weights),
                "class_index": str(classes),
                "images": ["mine/tabby.jpg", http_server.url("/pictures/elephant.jpg")],
            },
            "filters": {"num_filters": 4, "steps": 2},
        }
    }
    args = demo_config(copy, "imagenet.yaml", override)
    targets = [
        "results/interpretation/gradcam/xception_imagenet",
        "results/interpretation/filters/xception_imagenet/block3_sepconv1.png",
    ]
    plan = planned_jobs(snakemake(copy, *targets, *args).stdout)
    assert plan == {"fetch_picture": 1, "explain_imagenet": 1, "filters": 1}
    snakemake(copy, *targets, *(a for a in args if a != "--dry-run"))
    assert (copy / "resources/pictures/elephant.jpg").is_file()
    gradcam = copy / targets[0]
    assert sorted(p.name for p in gradcam.iterdir() if p.is_dir()) == sorted(
        [*stems, "tabby", "elephant"]
    )
    for picture in ("tabby", "elephant", *stems):
        predictions = json.loads((gradcam / picture / "predictions.json").read_text())
        assert predictions["layer"] == "block14_sepconv2_act"  # the book's layer, found
        assert len(predictions["top"]) == 3
        assert all(c["class"].startswith("thing_") for c in predictions["top"])
    with Image.open(copy / targets[1]) as grid:
        assert grid.size == (2 * 150 + 5,) * 2  # 2x2 of the book's 200 px less 25 px a side
    # With the weights given, `all` has the ImageNet branch, done; only our models' filters
    # are left, for the settings changed here.
    assert planned_jobs(snakemake(copy, *args).stdout) == {"filters": 4, "resources": 1, "all": 1}


def test_interpretation_settings_rerun_no_training(demo):
    args = demo_config(demo, "filters.yaml", {"interpretation": {"filters": {"num_filters": 9}}})
    # resources gathers the benchmarks again after any job: new ones were written.
    assert planned_jobs(snakemake(demo, *args).stdout) == {"filters": 4, "resources": 1, "all": 1}
    args = demo_config(demo, "pictures.yaml", {"interpretation": {"test_images": 2}})
    jobs = planned_jobs(snakemake(demo, *args).stdout)
    assert jobs == {"explain": 2, "resources": 1, "all": 1}


def test_finished_run_has_nothing_left_to_do(demo, tmp_path):
    result = snakemake(demo, *DEMO, "--dry-run")
    assert planned_jobs(result.stdout) == {}, result.stdout[-2000:]
    # Nor once the project is moved (say, to a cluster's scratch): inputs are relative paths.
    moved = shutil.copytree(demo, tmp_path / "moved", symlinks=True)
    result = snakemake(moved, *DEMO, "--dry-run")
    assert planned_jobs(result.stdout) == {}, result.stdout[-2000:]


def test_extracted_files_are_extracted_again_only_when_a_job_reads_them(demo, tmp_path):
    # Deleted to save space after a run (or lost to a killed extraction): nothing reruns
    # until a job that reads the files has to run, and then they are extracted first.
    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    shutil.rmtree(copy / "resources/oxford_pets")
    assert planned_jobs(snakemake(copy, *DEMO, "--dry-run").stdout) == {}
    args = demo_config(copy, "overview.yaml", {"overview": {"num_samples": 3}})
    target = "results/data/overview.png"
    jobs = planned_jobs(snakemake(copy, target, *args).stdout)
    # As for any intermediate file made again: what reads it reruns too.
    assert jobs == {"extract": 2, "index": 1, "split": 2, "split_table": 1, "overview": 1}
    snakemake(copy, target, *(a for a in args if a != "--dry-run"))
    assert (copy / "resources/oxford_pets/images/pug_1.jpg").is_file()
    assert planned_jobs(snakemake(copy, target, *args).stdout) == {}


def test_changing_a_plot_parameter_reruns_only_the_plot(demo):
    args = demo_config(demo, "plot.yaml", {"segmentation": {"plot": {"num_images": 3, "seed": 1}}})
    jobs = planned_jobs(snakemake(demo, *args).stdout)
    # Both models' galleries and the comparison show the same images: one job draws them.
    assert jobs == {"galleries": 1, "resources": 1, "all": 1}


def test_changing_one_tasks_split_reruns_only_that_task(demo):
    args = demo_config(demo, "split.yaml", {"split": {"classification": {"train": 100}}})
    run = snakemake(demo, *args)
    jobs = planned_jobs(run.stdout)
    assert jobs["split"] == jobs["split_table"] == 1
    assert jobs["arrays"] == 6  # images and labels of train, val and test
    assert jobs["train"] == jobs["evaluate"] == 2 and jobs["overview"] == 1
    assert "galleries" not in jobs
    assert set(re.findall(r"wildcards: task=(\w+), ", run.stdout)) == {"classification"}


def test_changing_the_unets_settings_reruns_only_the_unet_and_what_reads_it(demo):
    args = demo_config(demo, "epochs.yaml", {"segmentation": {"train": {"unet": {"epochs": 7}}}})
    run = snakemake(demo, *args).stdout
    jobs = planned_jobs(run)
    assert jobs == {
        "train": 2,  # each of its seeds
        "evaluate": 2,
        "summarise": 1,
        "compare": 1,
        "galleries": 1,
        "predict": 1,  # the demo's photo, through every segmentation model
        "front_page": 1,  # its table and its settings line (epochs)
        "resources": 1,
        "all": 1,
    }
    # The U-Net's own jobs; the book model's are left as they are.
    runs = re.findall(r"wildcards: task=segmentation, run=(\w+)", run)
    assert runs == ["unet"] * 5, run


def test_demo_predicts_its_photo_with_every_model(demo):
    classes = json.loads((demo / "results/predict/pet/classes.json").read_text())
    with Image.open(demo / "profiles/demo/pet.jpg") as photo:
        assert (classes["width"], classes["height"]) == photo.size
    assert set(classes["classifiers"]) == {"convnet", "mini_xception"}
    for verdict in classes["classifiers"].values():
        assert verdict["cat"] == pytest.approx(1 - verdict["dog"])
    # What the verdicts come from: the demo's synthetic data, the epochs of each history.
    assert classes["trained_on"] == {
        "profile": "demo",
        "source": "synthetic",
        "data": "the synthetic demo data",
        "epochs": {"convnet": 10, "mini_xception": 20},
        "note": "Models trained on the synthetic demo data (convnet 10 epochs, mini_xception "
        "20 epochs; profile demo): not a measure of quality.",
    }
    with Image.open(demo / "results/predict/pet/masks.png") as figure:
        assert figure.format == "PNG" and figure.size[1] > 300  # a row per segmentation model
    with Image.open(demo / "profiles/demo/pet.jpg") as photo:
        size = photo.size
    for model in ("book", "unet"):  # each mask at the photo's own size, its classes as values
        with Image.open(demo / f"results/predict/pet/mask_{model}.png") as mask:
            assert mask.mode == "P" and mask.size == size
            assert set(np.unique(np.asarray(mask))) <= {0, 1, 2}


def test_predict_takes_any_picture_mode_and_names_an_entry_that_is_no_picture(
    demo, tmp_path, http_server
):
    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    (copy / "mine").mkdir()
    with Image.open(copy / "profiles/demo/pet.jpg") as pet:
        pet.convert("L").save(copy / "mine/grey.png")
        rgba = tmp_path / "rgba.png"
        pet.convert("RGBA").save(rgba)
    http_server.files["/photos/see-through.png"] = rgba.read_bytes()
    http_server.files["/photos/page.jpg"] = b"<!doctype html><html><body>a pet</body></html>"
    photos = ["mine/grey.png", http_server.url("/photos/see-through.png")]
    args = demo_config(copy, "photos.yaml", {"predict": {"images": photos}})
    targets = [f"results/predict/{name}/classes.json" for name in ("grey", "see-through")]
    assert planned_jobs(snakemake(copy, *targets, *args).stdout) == {
        "fetch_picture": 1,
        "predict": 2,
    }
    snakemake(copy, *targets, *(a for a in args if a != "--dry-run"))
    for target in targets:  # grayscale and RGBA photos go through the RGB models
        classes = json.loads((copy / target).read_text())
        assert (classes["width"], classes["height"]) == (154, 122)
        assert set(classes["classifiers"]) == {"convnet", "mini_xception"}

    page = http_server.url("/photos/page.jpg")
    args = demo_config(copy, "page.yaml", {"predict": {"images": [page]}})
    run = [a for a in args if a != "--dry-run"]
    result = snakemake(copy, "results/predict/page/masks.png", *run, check=False)
    output = result.stdout + result.stderr
    log = "\n".join(p.read_text() for p in (copy / "logs").rglob("fetch_page.jpg.log"))
    assert result.returncode != 0
    assert f"predict.images entry '{page}'" in log and "an HTML page" in log, output[-3000:]
    assert not (copy / "results/predict/page").exists()
    assert not (copy / "resources/pictures/page.jpg").exists()


def _planned_after_an_edit(demo, path):
    """The jobs a dry run plans once a comment is added to the file at path (then taken out)."""
    code = demo / path
    original = code.read_text()
    code.write_text(original + "\n# an edit\n")
    try:
        return planned_jobs(snakemake(demo, *DEMO, "--dry-run").stdout)
    finally:
        code.write_text(original)  # same content again: Snakemake's checksum sees no change


def test_a_touched_script_reruns_nothing_and_an_edited_one_its_rule(demo, tmp_path):
    # A checkout, an editor's save or a copy without times changes modification times only.
    # In a copy: a job run later in the shared demo would refuse outputs older than its script.
    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    later = time.time() + 60
    for script in (copy / "scripts").rglob("*.py"):
        os.utime(script, (later, later))
    assert planned_jobs(snakemake(copy, *DEMO, "--dry-run").stdout) == {}
    jobs = _planned_after_an_edit(copy, "scripts/overview.py")
    assert jobs == {"overview": 1, "resources": 1, "all": 1}


def test_synthetic_settings_that_trade_values_rerun_the_synthesis(demo):
    # The demo's 20 per breed and min_side 96, traded: the same set of values, other pictures.
    swapped = {"dataset": {"synthetic": {"images_per_breed": 96, "min_side": 20}}}
    jobs = planned_jobs(snakemake(demo, *demo_config(demo, "swap.yaml", swapped)).stdout)
    assert jobs["synthesize"] == 1 and jobs["extract"] == 2 and jobs["index"] == 1


def test_editing_plot_code_reruns_plots_not_training(demo):
    jobs = _planned_after_an_edit(demo, "scripts/snakevision/report/plots.py")
    assert "train" not in jobs
    assert {"evaluate", "galleries", "overview", "compare"} <= set(jobs)
    # The seeds figure has its own module: only the comparisons draw it.
    jobs = _planned_after_an_edit(demo, "scripts/snakevision/report/seeds_figure.py")
    assert jobs == {"compare": 2, "resources": 1, "all": 1}
    assert planned_jobs(snakemake(demo, *DEMO, "--dry-run").stdout) == {}


def test_report_gathers_every_figure(demo):
    snakemake(demo, *DEMO, "--report", "report.zip")
    with zipfile.ZipFile(demo / "report.zip") as report:
        files = [name.rsplit("/", 1)[-1] for name in report.namelist()]
    names = "\n".join(files)
    # Each segmentation model's gallery and the photo's masks; both tasks' comparisons.
    assert files.count("masks.png") == 3 and files.count("curves.png") == 6
    assert files.count("comparison.csv") == files.count("seeds.png") == 2
    assert files.count("comparison.png") == 1 and files.count("summary.json") == 4
    assert files.count("classes.json") == 1
    for figure in (
        "overview.png",
        "masks.png",
        "curves.png",
        "comparison.png",
        "metrics.json",
        "convnet.txt",
        "01_conv1.png",
        "overlay.jpg",
        "block3_sepconv1.png",
    ):
        assert figure in names, figure


def _front_page(html: str) -> str:
    """The report's front page (Snakemake embeds it as a JSON string in report.html)."""
    match = re.search(r"var workflow_desc = (\".*?\");\n", html, flags=re.S)
    assert match, "report.html has no workflow_desc"
    return json.loads(match.group(1))


class _Tables(HTMLParser):
    """The rows of every HTML table: header and data cells as text."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell.replace("\xa0", " ").strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _spread(values):
    """A cell as the front page shows metrics over seeds."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f} ({len(values)})"


def test_report_opens_on_the_results(demo):
    snakemake(demo, *DEMO, "--report", "report.html")
    page = _front_page((demo / "report.html").read_text())
    tables = _Tables()
    tables.feed(page)
    runs = {
        (model, seed): json.loads(
            (demo / f"results/{task}/{model}/seed_{seed}/metrics.json").read_text()
        )
        for task, model, seeds in (
            ("segmentation", "book", (1337, 1)),
            ("segmentation", "unet", (1337, 1)),
            ("classification", "convnet", (1337,)),
            ("classification", "mini_xception", (1337,)),
        )
        for seed in seeds
    }

    def values(model, metric):
        return [m[metric] for (name, _), m in runs.items() if name == model]

    # Per task, one row per run with its architecture, its recipe, its metrics over its seeds.
    segmentation, book, unet, header, *classifiers = tables.rows
    columns = ["run", "architecture + recipe"]
    assert segmentation == [*columns, "pixel accuracy", "mean IoU", "foreground IoU"]
    for row, model in ((book, "book"), (unet, "unet")):
        metrics = ("pixel_accuracy", "mean_iou", "foreground_iou")
        assert row == [model, model, *(_spread(values(model, m)) for m in metrics)]
        assert "±" in row[3]
    assert header == [*columns, "accuracy", "the book's accuracy", "difference", "ROC AUC"]
    for row, (model, figure) in zip(
        classifiers, (("convnet", 0.835), ("mini_xception", 0.908)), strict=True
    ):
        (accuracy,) = values(model, "accuracy")
        assert row == [
            model,
            model,
            f"{accuracy:.3f}",
            f"{figure:.3f}",
            f"{accuracy - figure:+.3f}",
            f"{values(model, 'auc')[0]:.3f}",
        ]
    assert "The book publishes no segmentation metric." in page
    assert "book: 2 of 2 seeds learned more than the majority class" in page
    assert "convnet: 1 of 1 seed learned more than the majority class" in page
    assert "Profile: demo (synthetic data)." in page
    # The sentence on the data and the settings, from the run's own files.
    assert "synthetic pets" in page and "96 validation" in page and "120 test" in page
    assert "book 6 epochs, batch 16, float32, 2 seeds (1337, 1)" in page
    assert "unet 6 epochs, batch 16, float32" in page
    assert "mini_xception 20 epochs, batch 8, float32" in page and "backend tensorflow" in page
    assert page.index("Segmentation, on the validation split") < page.index("resources.png")


def test_resources_has_one_row_per_job_of_the_run(demo):
    # Only the sampled columns may be empty (unknown); an empty wildcards cell is a string.
    unknown = {"cpu_s": [""], "max_rss_mb": [""]}
    table = pd.read_csv(demo / "results/resources.csv", keep_default_na=False, na_values=unknown)
    assert list(table.columns) == [
        "rule",
        "wildcards",
        "wall_s",
        "cpu_s",
        "max_rss_mb",
        "benchmark",
    ]
    # Every job of the demo's DAG but `all` (no benchmark) and resources itself (its benchmark
    # is written after it ran).
    run = planned_jobs(snakemake(demo, *DEMO, "--dry-run", "--forceall").stdout)
    del run["all"], run["resources"]
    assert table.groupby("rule").size().to_dict() == run
    assert len(table) == len(set(zip(table.rule, table.wildcards))) == sum(run.values())
    # Wall time is timed: every job has one. CPU time and memory are sampled about once a
    # second: a short job may have none (unknown, an empty cell), never 0. Which jobs are
    # sampled, and which job is slowest, are up to the machine's load: not asserted.
    assert (table.wall_s > 0).all()
    for column in ("cpu_s", "max_rss_mb"):
        assert (table[column].isna() | (table[column] > 0)).all(), table[column]
    assert table.wall_s.is_monotonic_decreasing  # slowest first
    assert "model=mini_xception,layer=block3_sepconv1" in set(table.wildcards)
    # The values are read: trainings run for many seconds, sampled many times.
    trainings = table[table.rule == "train"]
    assert (trainings.max_rss_mb > 100).all() and (trainings.cpu_s > 0).all(), trainings
    with Image.open(demo / "results/resources.png") as image:
        assert image.format == "PNG" and min(image.size) > 400


def test_editing_a_caption_or_the_resources_plot_reruns_no_training(demo):
    # Captions and the front page's text are read when the report is built: nothing reruns.
    for caption in (
        "report/resources.rst",
        "report/metrics_json.rst",
        "report/workflow.rst",
    ):
        assert _planned_after_an_edit(demo, caption) == {}, caption
    jobs = _planned_after_an_edit(demo, "scripts/snakevision/report/resources.py")
    assert jobs == {"resources": 1, "all": 1}
    jobs = _planned_after_an_edit(demo, "scripts/snakevision/report/front_page.py")
    assert jobs == {"front_page": 1, "resources": 1, "all": 1}


def test_seeds_fan_out_and_a_seed_change_reruns_only_its_own_jobs(demo):
    # Adding a seed trains and scores that seed alone, then the summaries.
    added = {"classification": {"train": {"convnet": {"seeds": [1337, 5]}}}}
    run = snakemake(demo, *demo_config(demo, "added.yaml", added)).stdout
    assert planned_jobs(run) == {
        "train": 1,
        "evaluate": 1,
        "summarise": 1,
        "compare": 1,
        "front_page": 1,
        "resources": 1,
        "all": 1,
    }
    assert re.findall(r"wildcards: task=classification, run=convnet, seed=(\d+)", run) == [
        "5",
        "5",
    ]
    # Removing one reruns only the summaries; interpretation and predictions keep the first.
    removed = {"segmentation": {"train": {"book": {"seeds": [1337]}}}}
    jobs = planned_jobs(snakemake(demo, *demo_config(demo, "removed.yaml", removed)).stdout)
    assert jobs == {"summarise": 1, "compare": 1, "front_page": 1, "resources": 1, "all": 1}


def test_summaries_hold_the_spread_of_the_seeds_metrics(demo):
    for model in ("book", "unet"):
        summary = json.loads((demo / f"results/segmentation/{model}/summary.json").read_text())
        runs = {
            seed: json.loads(
                (demo / f"results/segmentation/{model}/seed_{seed}/metrics.json").read_text()
            )
            for seed in (1337, 1)
        }
        assert summary["seeds"] == [1337, 1] and summary["n"] == 2
        for metric in ("pixel_accuracy", "mean_iou", "foreground_iou"):
            values = [runs[s][metric] for s in (1337, 1)]
            entry = summary["metrics"][metric]
            assert entry["values"] == {"1337": values[0], "1": values[1]}
            assert entry["mean"] == pytest.approx(np.mean(values))
            assert entry["sd"] == pytest.approx(np.std(values, ddof=1))
            assert (entry["min"], entry["max"]) == (min(values), max(values))
        learned = sum(
            runs[s]["mean_iou"] > runs[s]["majority_baseline"]["mean_iou"] for s in (1337, 1)
        )
        assert summary["learned"] == learned
    with Image.open(demo / "results/segmentation/seeds.png") as figure:
        assert figure.format == "PNG" and figure.size[0] > 800


def test_each_seeds_metrics_are_recomputed_from_its_saved_model(demo):
    import keras  # only here: the other workflow tests need no Keras in the test process
    from snakevision.evaluation import scoring

    images = np.load(demo / "results/data/segmentation/val_images.npy")
    masks = np.load(demo / "results/data/segmentation/val_masks.npy")
    for seed in (1337, 1):
        run = demo / f"results/segmentation/unet/seed_{seed}"
        model = keras.models.load_model(run / "model.keras")
        saved = json.loads((run / "metrics.json").read_text())
        again = scoring.segmentation(model, images, masks, batch_size=32)
        assert again["mean_iou"] == pytest.approx(saved["mean_iou"], abs=1e-6)
        assert again["confusion_matrix"] == saved["confusion_matrix"]
    first, second = (
        json.loads((demo / f"results/segmentation/unet/seed_{s}/metrics.json").read_text())
        for s in (1337, 1)
    )
    assert first["confusion_matrix"] != second["confusion_matrix"]  # two draws, not one twice


def test_more_epochs_train_only_the_new_ones(demo, tmp_path):
    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    run = copy / "results/classification/convnet/seed_1337"
    before = pd.read_csv(run / "history.csv")
    longer = {"classification": {"train": {"convnet": {"epochs": 12}}}}
    args = [a for a in demo_config(copy, "longer.yaml", longer) if a != "--dry-run"]
    snakemake(copy, str(run.relative_to(copy) / "metrics.json"), *args)
    log = (copy / "logs/classification/train_convnet_seed_1337.log").read_text()
    assert "resuming from epoch 11 of 12 (state in " in log, log[-2000:]
    assert "epoch 1/12" not in log  # not trained again
    after = pd.read_csv(run / "history.csv")
    assert after.epoch.tolist() == list(range(1, 13))
    pd.testing.assert_frame_equal(after.iloc[:10], before)  # the first ten epochs, as they were


def test_a_photo_replaced_by_older_dated_content_reruns_its_prediction(demo, tmp_path):
    copy = shutil.copytree(demo, tmp_path / "copy", symlinks=True)
    photo = copy / "profiles/demo/pet.jpg"
    other = tmp_path / "other.jpg"
    with Image.open(photo) as pet:
        pet.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)
    old = photo.stat().st_mtime - 3600
    os.utime(other, (old, old))  # a copy that keeps an older date than the outputs
    shutil.copy2(other, photo)
    assert planned_jobs(snakemake(copy, *DEMO, "--dry-run").stdout) == {
        "predict": 1,
        "resources": 1,
        "all": 1,
    }
