"""Rule compare_classifiers: test accuracy per model beside the book's, with parameter counts."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision import comparison, plots  # noqa: E402
from snakevision.files import write_csv  # noqa: E402

table = comparison.classifiers(job.params.models, job.input.metrics, job.input.summaries)
write_csv(table, job.output.table)
plots.comparison_chart(table, job.output.chart, job.params.data)
