"""Rule split: one task's seeded train/val(/test) split."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision import pets  # noqa: E402
from snakevision.files import read_csv, write_csv  # noqa: E402

index = read_csv(job.input.index)
table = pets.split(index, job.wildcards.task, job.params.seed, dict(job.params.settings))
write_csv(table, job.output[0])
