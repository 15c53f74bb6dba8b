"""Rules explain and explain_imagenet: a classifier's activation grids (ours only) and its
Grad-CAM heatmap, overlay and predictions, for each chosen picture."""

from pathlib import Path

from snakevision.job.setup import start

job = start(snakemake)

import keras
from snakevision.data import pictures
from snakevision.data.images import resized
from snakevision.files import atomic
from snakevision.interpretation import activations, gradcam, imagenet
from snakevision.labels import SPECIES

chosen = pictures.chosen(
    job.params.pictures, job.input.pictures, job.input.get("index"), job.input.get("split")
)
if job.params.imagenet:
    model = imagenet.load(job.input.weights, "interpretation.imagenet.weights")
    names = imagenet.class_names(job.input.class_index, "interpretation.imagenet.class_index")
    preprocess = imagenet.preprocess
else:
    model = keras.models.load_model(job.input.model)
    names = list(SPECIES)  # the sigmoid gives p(dog)
    preprocess = gradcam.as_float
size = model.input.shape[1]
if not job.params.imagenet:  # the book draws no activations of the ImageNet Xception
    with atomic(Path(job.output.activations), folder=True) as folder:
        for picture in chosen:
            activations.write(model, resized(picture.load(), size), folder / picture.name)
settings = job.params.gradcam
key = f"interpretation.gradcam.layers.{job.wildcards.model}"
with atomic(Path(job.output.gradcam), folder=True) as folder:
    for picture in chosen:
        image = picture.load()
        found = gradcam.explain(model, preprocess(resized(image, size)), settings["layer"], key)
        gradcam.write(folder / picture.name, image, found, names, settings["top"])
