"""Rule model_summaries: model.summary() text of every classifier and residual-block demo."""

from pathlib import Path

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.files import atomic
from snakevision.models import catalog, classification
from snakevision.models.build import build


def built(name: str):
    """A trained classifier at the configured size; a demo on its own small input."""
    if catalog.MODELS[name].trains:
        return build(catalog.CLASSIFICATION, name, job.params.image_size)
    return classification.BUILDERS[name]()


for name, path in zip(job.params.models, job.output, strict=True):
    with atomic(Path(path)) as tmp:
        tmp.write_text(classification.summary_text(built(name)))
