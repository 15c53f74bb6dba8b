"""Rule split: one task's seeded train/val(/test) split."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data import pets
from snakevision.files import read_csv, write_csv

index = read_csv(job.input.index)
table = pets.split(index, job.wildcards.task, job.params.seed, dict(job.params.settings))
write_csv(table, job.output[0])
