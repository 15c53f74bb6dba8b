"""Rule summarise: one model's headline metrics over its seeds, in summary.json."""

from snakevision.job import start

job = start(snakemake)

from snakevision.files import write_json
from snakevision.spread import summary

write_json(summary(job.params.seeds, job.input.metrics), job.output[0])
