"""Rule filters: the patterns the first filters of one layer respond to most, in a grid."""

from snakevision.job.setup import start

job = start(snakemake)

import keras
from snakevision.interpretation import filters, imagenet

settings = job.params.filters
if job.params.imagenet:
    # The book draws Xception's filters at 200x200 from noise fed as it is (scale 1).
    size, scale = settings["imagenet_size"], 1.0
    full = imagenet.load(job.input.weights, "interpretation.imagenet.weights")
    model = imagenet.without_top(full, size)
else:
    # Our models take pixels 0..255 and rescale them: the same noise, in their units.
    model = keras.models.load_model(job.input.model)
    size, scale = model.input.shape[1], 255.0
key = f"interpretation.filters.layers.{job.wildcards.model}"
canvas = filters.pattern_grid(
    filters.extractor(model, job.wildcards.layer, key),
    settings["num_filters"],
    size,
    steps=settings["steps"],
    learning_rate=settings["learning_rate"],
    scale=scale,
    batch_size=settings["batch_size"],
    seed=settings["seed"],
    start=tuple(settings["start"]),
)
filters.save(canvas, job.output[0])
