"""Rule compare_classifiers: test accuracy per model beside the book's, with parameter counts."""

from snakevision.job import start

job = start(snakemake)

from snakevision import comparison, plots
from snakevision.files import write_csv

table = comparison.classifiers(
    job.params.models, job.input.metrics, job.input.summaries, job.params.book
)
write_csv(table, job.output.table)
plots.comparison_chart(table, job.output.chart, comparison.DATA_NAMES[job.params.data])
