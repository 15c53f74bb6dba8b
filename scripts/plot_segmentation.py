"""Rule plot_segmentation: one model's loss curves and a gallery of its predicted masks."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import evaluation, plots  # noqa: E402
from snakevision.files import read_history  # noqa: E402
from snakevision.npy import Rows  # noqa: E402

name = job.wildcards.model
title = f"Segmentation, {name}: training and validation loss"
plots.loss_curves(read_history(job.input.history), job.output.loss, title)

model = keras.models.load_model(job.input.model)
shown = evaluation.gallery(
    {name: model}, Rows(job.input.images), Rows(job.input.masks), job.params.plot
)
plots.mask_gallery(*shown, job.output.masks)
