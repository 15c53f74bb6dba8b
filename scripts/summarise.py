"""Rule summarise: one run's reported metrics over its seeds, in summary.json."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.evaluation.spread import summary
from snakevision.files import write_json

write_json(summary(job.params.seeds, job.input.metrics), job.output[0])
