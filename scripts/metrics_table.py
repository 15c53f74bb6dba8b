"""Rule metrics_table: every headline metric in results/metrics.csv."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.comparison import headline  # noqa: E402
from snakevision.files import write_csv  # noqa: E402

segmenters = dict(zip(job.params.segmenters, job.input.segmenters, strict=True))
classifiers = dict(zip(job.params.classifiers, job.input.classifiers, strict=True))
write_csv(headline(segmenters, classifiers), job.output[0])
