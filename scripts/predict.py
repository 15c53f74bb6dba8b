"""Rule predict: a user's photo through each segmenter (masks.png) and classifier (classes.json)."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.pictures import Picture  # noqa: E402
from snakevision.predict import predict_photo  # noqa: E402

params = job.params
picture = Picture(params.name, Path(job.input.photo), f"{params.key} entry {params.entry!r}")
predict_photo(
    picture,
    dict(zip(params.segmenters, job.input.segmenters, strict=True)),
    dict(zip(params.classifiers, job.input.classifiers, strict=True)),
    (params.segmentation_size, params.classification_size),
    Path(job.output.masks),
    Path(job.output.classes),
)
