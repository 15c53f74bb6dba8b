"""Rule model_summary: model.summary() text of one of the book's models."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.files import atomic  # noqa: E402
from snakevision.models import classification  # noqa: E402

name = job.wildcards.summary
build = classification.BUILDERS[name]
model = build(job.params.image_size) if name in classification.TRAINABLE else build()
with atomic(Path(job.output[0])) as tmp:
    tmp.write_text(classification.summary_text(model))
