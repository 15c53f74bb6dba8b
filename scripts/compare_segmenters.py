"""Rule compare_segmenters: the models' metrics side by side, and their masks of the same images."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import evaluation, plots  # noqa: E402
from snakevision.comparison import segmenters  # noqa: E402
from snakevision.files import write_csv  # noqa: E402
from snakevision.npy import Rows  # noqa: E402

models = {
    name: keras.models.load_model(path)
    for name, path in zip(job.params.models, job.input.models, strict=True)
}
params = [model.count_params() for model in models.values()]
write_csv(segmenters(job.params.models, job.input.metrics, params), job.output.table)
# The images of each model's masks.png, here with every model's mask.
shown = evaluation.gallery(models, Rows(job.input.images), Rows(job.input.masks), job.params.plot)
plots.mask_gallery(*shown, job.output.masks)
