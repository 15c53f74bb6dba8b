"""Rule compare_segmenters: the models' metrics side by side, each model's gallery of masks and
all models' masks of the same images."""

from snakevision.job import start

job = start(snakemake)

import keras
from snakevision import evaluation, plots
from snakevision.comparison import segmenters
from snakevision.files import write_csv
from snakevision.npy import Rows

names = job.params.models
models = {
    name: keras.models.load_model(path) for name, path in zip(names, job.input.models, strict=True)
}
params = [model.count_params() for model in models.values()]
write_csv(segmenters(names, job.input.metrics, params), job.output.table)
images, truth, predicted = evaluation.gallery(
    models, Rows(job.input.images), Rows(job.input.masks), job.params.plot
)
plots.mask_gallery(images, truth, predicted, job.output.masks)
for name, path in zip(names, job.output.galleries, strict=True):
    plots.mask_gallery(images, truth, {name: predicted[name]}, path)
