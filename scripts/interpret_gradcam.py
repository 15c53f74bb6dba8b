"""Rule gradcam: heatmap, overlay and predictions of a classifier for each chosen picture."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import pictures  # noqa: E402
from snakevision.files import atomic  # noqa: E402
from snakevision.images import resized  # noqa: E402
from snakevision.interpretation import gradcam, imagenet  # noqa: E402
from snakevision.metrics import CLASSIFICATION_CLASSES  # noqa: E402

chosen = pictures.chosen(
    job.params.pictures, job.input.pictures, job.input.get("index"), job.input.get("split")
)
if job.params.imagenet:
    model = imagenet.load(job.input.weights, "interpretation.imagenet.weights")
    names = imagenet.class_names(job.input.class_index, "interpretation.imagenet.class_index")
    preprocess = imagenet.preprocess
else:
    model = keras.models.load_model(job.input.model)
    names = list(CLASSIFICATION_CLASSES)  # the sigmoid gives p(dog)
    preprocess = gradcam.as_float
settings = job.params.gradcam
key = f"interpretation.gradcam.layers.{job.wildcards.model}"
size = model.input.shape[1]
with atomic(Path(job.output[0]), folder=True) as folder:
    for picture in chosen:
        image = picture.load()
        found = gradcam.explain(model, preprocess(resized(image, size)), settings["layer"], key)
        gradcam.write(folder / picture.name, image, found, names, settings["top"])
