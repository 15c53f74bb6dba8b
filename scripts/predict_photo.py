"""Rule predict: a user's photo through each segmenter (masks.png) and classifier (classes.json)."""

from pathlib import Path

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.images import Picture
from snakevision.predict.photos import TrainedOn, predict_photo

params = job.params
name = job.wildcards.image
picture = Picture(name, Path(job.input.photo), f"{params.key} entry {params.entry!r}")
models = [*params.segmenters, *params.classifiers]
histories = [*job.input.segmenter_histories, *job.input.classifier_histories]
trained = TrainedOn.read(
    params.trained_on["profile"],
    params.trained_on["source"],
    dict(zip(models, histories, strict=True)),
)
predict_photo(
    picture,
    dict(zip(params.segmenters, job.input.segmenters, strict=True)),
    dict(zip(params.classifiers, job.input.classifiers, strict=True)),
    (params.segmentation_size, params.classification_size),
    Path(job.output.masks),
    Path(job.output.classes),
    dict(zip(params.segmenters, map(Path, job.output.mask_files), strict=True)),
    trained,
)
