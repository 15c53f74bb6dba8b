"""Rule index: pair images and trimaps by stem and record every file as ok or excluded."""

from pathlib import Path

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.pets import build_index
from snakevision.files import write_csv

index = build_index(job.input.images, Path(job.input.annotations) / "trimaps", job.threads)
write_csv(index, job.output[0])
