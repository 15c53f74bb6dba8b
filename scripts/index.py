"""Rule index: pair images and trimaps by stem and record every file as ok or excluded."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.files import write_csv  # noqa: E402
from snakevision.pets import build_index  # noqa: E402

index = build_index(job.input.images, Path(job.input.annotations) / "trimaps", job.threads)
write_csv(index, job.output[0])
