# Your own photos: each config predict.images entry (a local path, or a URL that rule
# fetch_picture fetches into PICTURES) through every trained segmenter and classifier.

import re

from snakevision.pictures import local_path, name_of

PREDICT = "results/predict"
# Output name (the file's stem) -> config entry; the config check refuses names that clash.
PHOTOS = {name_of(entry): entry for entry in config["predict"]["images"]}
PREDICT_OUTPUTS = [
    f"{PREDICT}/{name}/{output}"
    for name in PHOTOS
    for output in ("masks.png", "classes.json")
]


rule predict:
    input:
        photo=lambda w: local_path(PHOTOS[w.image], PICTURES),
        segmenters=expand(f"{SEG}/{{model}}/model.keras", model=SEGMENTERS),
        classifiers=expand(f"{CLS}/{{model}}/model.keras", model=MODELS),
        code=library("predict.py"),
    output:
        masks=report(
            f"{PREDICT}/{{image}}/masks.png",
            caption="../report/predict_masks.rst",
            category="6. Your photos",
            subcategory="{image}",
            labels={"photo": "{image}", "result": "masks"},
        ),
        classes=report(
            f"{PREDICT}/{{image}}/classes.json",
            caption="../report/predict_classes.rst",
            category="6. Your photos",
            subcategory="{image}",
            labels={"photo": "{image}", "result": "cat or dog"},
        ),
    log:
        "logs/predict/{image}.log",
    benchmark:
        "benchmarks/predict/{image}.tsv"
    wildcard_constraints:
        image="|".join(map(re.escape, PHOTOS)) or "(?!)",
    conda:
        ENV
    threads: 2
    resources:
        # The runtime and a few small models, plus the photo at its own size: a 12-megapixel
        # photo's float copies for the overlays take a few hundred MB.
        mem_mb=3000,
        runtime=30,
    params:
        name=lambda w: w.image,
        entry=lambda w: PHOTOS[w.image],
        key="predict.images",
        segmenters=SEGMENTERS,
        classifiers=MODELS,
        segmentation_size=config["segmentation"]["image_size"],
        classification_size=config["classification"]["image_size"],
        backend=config["keras_backend"],
    script:
        "../scripts/predict.py"
