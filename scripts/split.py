"""Rule split: seeded train/val(/test) splits for segmentation and classification."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision import pets  # noqa: E402
from snakevision.files import read_csv, write_csv  # noqa: E402

table = pets.split(
    read_csv(job.input.index), job.params.seed, job.params.num_val, dict(job.params.classification)
)
write_csv(table, job.output[0])
