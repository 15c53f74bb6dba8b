"""Rule plot_segmentation: one model's loss curves and a gallery of its predicted masks."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import plots  # noqa: E402
from snakevision.files import read_history  # noqa: E402
from snakevision.metrics import per_image_iou  # noqa: E402
from snakevision.npy import Rows  # noqa: E402

model_name = job.wildcards.model
title = f"Segmentation, {model_name}: training and validation loss"
plots.loss_curves(read_history(job.input.history), job.output.loss, title)

images, masks = Rows(job.input.images), Rows(job.input.masks)
rows = plots.gallery_rows(len(images), job.params.plot)
model = keras.models.load_model(job.input.model)
predicted = model.predict(images[rows], verbose=0).argmax(axis=-1)
truth = masks[rows, ..., 0]
ious = [per_image_iou(t, p, 3) for t, p in zip(truth, predicted, strict=True)]
plots.mask_gallery(images[rows], truth, {model_name: (predicted, ious)}, job.output.masks)
