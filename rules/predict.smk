# Your own photos: each config predict.images entry (a local path, or a URL that rule
# fetch_picture fetches into PICTURES) through every trained segmenter and classifier.

PREDICT_OUTPUTS = [
    f"{PREDICT}/{name}/{output}"
    for name in PHOTOS
    for output in ("masks.png", "classes.json", *(f"mask_{m}.png" for m in SEGMENTERS))
]


rule predict:
    input:
        photo=photo_path,
        # Each model's first seed.
        segmenters=[first_run(catalog.SEGMENTATION, model) for model in SEGMENTERS],
        classifiers=[first_run(catalog.CLASSIFICATION, model) for model in CLASSIFIERS],
        # Their histories: the epochs each trained, which the outputs state.
        segmenter_histories=[
            first_run(catalog.SEGMENTATION, model, "history.csv")
            for model in SEGMENTERS
        ],
        classifier_histories=[
            first_run(catalog.CLASSIFICATION, model, "history.csv")
            for model in CLASSIFIERS
        ],
        code=library("predict_photo.py"),
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
        # Each segmenter's mask at the photo's own size: a palette PNG of values 0, 1, 2.
        mask_files=[
            report(
                f"{PREDICT}/{{image}}/mask_{model}.png",
                caption="../report/predict_mask.rst",
                category="6. Your photos",
                subcategory="{image}",
                labels={"photo": "{image}", "result": f"mask of {model}"},
            )
            for model in SEGMENTERS
        ],
    log:
        "logs/predict/{image}.log",
    benchmark:
        "benchmarks/predict/{image}.tsv"
    wildcard_constraints:
        image=one_of(PHOTOS),
    conda:
        ENV
    threads: 2
    resources:
        # The runtime and a few small models, plus the photo at its own size: a 12-megapixel
        # photo's float copies for the overlays take a few hundred MB.
        mem_mb=3000,
        runtime=30,
    params:
        entry=photo_entry,
        content=photo_content,  # a photo replaced at the same path reruns its prediction
        key="predict.images",
        segmenters=SEGMENTERS,
        classifiers=CLASSIFIERS,
        segmentation_size=config["segmentation"]["image_size"],
        classification_size=config["classification"]["image_size"],
        # What the models were trained on, which the outputs state.
        trained_on={"profile": config["profile"], "source": config["dataset"]["source"]},
        backend=BACKEND,
    script:
        "../scripts/predict_photo.py"
