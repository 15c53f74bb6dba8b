"""Rule activations: the book's grid of every conv and pooling layer's channels, per picture."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import pictures  # noqa: E402
from snakevision.files import atomic  # noqa: E402
from snakevision.images import resized  # noqa: E402
from snakevision.interpretation import activations  # noqa: E402

chosen = pictures.chosen(
    job.params.pictures, job.input.pictures, job.input.get("index"), job.input.get("split")
)
model = keras.models.load_model(job.input.model)
size = model.input.shape[1]
with atomic(Path(job.output[0]), folder=True) as folder:
    for picture in chosen:
        activations.write(model, resized(picture.load(), size), folder / picture.name)
