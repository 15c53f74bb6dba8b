"""Rule compare_segmenters: the models' metrics side by side, and their masks of the same images."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import plots  # noqa: E402
from snakevision.comparison import segmenters  # noqa: E402
from snakevision.files import write_csv  # noqa: E402
from snakevision.metrics import per_image_iou  # noqa: E402
from snakevision.npy import Rows  # noqa: E402

models = [keras.models.load_model(path) for path in job.input.models]
params = [model.count_params() for model in models]
write_csv(segmenters(job.params.models, job.input.metrics, params), job.output.table)

# The images of each model's masks.png, here with every model's mask.
images, masks = Rows(job.input.images), Rows(job.input.masks)
rows = plots.gallery_rows(len(images), job.params.plot)
truth = masks[rows, ..., 0]
predicted = {}
for name, model in zip(job.params.models, models, strict=True):
    labels = model.predict(images[rows], verbose=0).argmax(axis=-1)
    predicted[name] = (labels, [per_image_iou(t, p, 3) for t, p in zip(truth, labels, strict=True)])
plots.mask_gallery(images[rows], truth, predicted, job.output.masks)
