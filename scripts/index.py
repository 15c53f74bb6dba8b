"""Rule index: pair images and trimaps by stem and record every file as ok or excluded."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)

from snakevision.files import write_csv
from snakevision.pets import build_index

index = build_index(job.input.images, Path(job.input.annotations) / "trimaps", job.threads)
write_csv(index, job.output[0])
