# Your own photos: each config predict.images entry (a local path, or a URL that rule
# fetch_picture fetches into PICTURES) through the runs of predict.models (by default those
# named after their architecture: book, unet, convnet, mini_xception).

PREDICT_OUTPUTS = [
    f"{PREDICT}/{name}/{output}"
    for name in PHOTOS
    for output in (
        "masks.png",
        "classes.json",
        *(f"mask_{m}.png" for m in PREDICTED[SEGMENTATION]),
    )
]


rule predict:
    input:
        photo=lookup(dpath="{image}/path", within=PHOTOS),
        # Each run's first seed, and its history: the epochs it trained, which outputs state.
        segmenters=[first_training(SEGMENTATION, r) for r in PREDICTED[SEGMENTATION]],
        classifiers=[first_training(CLASSIFICATION, r) for r in PREDICTED[CLASSIFICATION]],
        segmenter_histories=[
            first_training(SEGMENTATION, r, "history.csv") for r in PREDICTED[SEGMENTATION]
        ],
        classifier_histories=[
            first_training(CLASSIFICATION, r, "history.csv") for r in PREDICTED[CLASSIFICATION]
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
                f"{PREDICT}/{{image}}/mask_{run}.png",
                caption="../report/predict_mask.rst",
                category="6. Your photos",
                subcategory="{image}",
                labels={"photo": "{image}", "result": f"mask of {run}"},
            )
            for run in PREDICTED[SEGMENTATION]
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
        entry=lookup(dpath="{image}/entry", within=PHOTOS),
        # A photo replaced at the same path reruns its prediction.
        content=lookup(dpath="{image}/content", within=PHOTOS),
        key="predict.images",
        segmenters=PREDICTED[SEGMENTATION],
        classifiers=PREDICTED[CLASSIFICATION],
        segmentation_size=config["segmentation"]["image_size"],
        classification_size=config["classification"]["image_size"],
        # What the models were trained on, which the outputs state.
        trained_on={"profile": config["profile"], "source": config["dataset"]["source"]},
        backend=BACKEND,
    script:
        "../scripts/predict_photo.py"
