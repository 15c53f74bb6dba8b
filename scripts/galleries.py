"""Rule galleries: the same validation images through each segmentation model, one gallery per
model and all of them together."""

from snakevision.job.setup import start

job = start(snakemake)

import keras
from snakevision.data.npy import Rows
from snakevision.evaluation import scoring
from snakevision.report import plots

names = job.params.models
models = {
    name: keras.models.load_model(path) for name, path in zip(names, job.input.models, strict=True)
}
images, truth, predicted = scoring.gallery(
    models, Rows(job.input.images), Rows(job.input.masks), job.params.plot
)
plots.mask_gallery(images, truth, predicted, job.output.masks)
for name, path in zip(names, job.output.galleries, strict=True):
    plots.mask_gallery(images, truth, {name: predicted[name]}, path)
