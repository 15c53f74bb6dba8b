"""Rule headline: results/metrics.csv and the report's front page, from every summary.json."""

from snakevision.job import start

job = start(snakemake)

from snakevision import frontpage
from snakevision.comparison import headline
from snakevision.files import atomic, read_csv, write_csv
from snakevision.spread import read_summary

runs = [tuple(run) for run in job.params.models]  # (task, model) of each summary
summaries = {run: read_summary(path) for run, path in zip(runs, job.input.summaries, strict=True)}
precisions = {
    model: frontpage.last_precision(path)
    for (_, model), path in zip(runs, job.input.histories, strict=True)
}
book = job.params.book
write_csv(headline(summaries, book), job.output.metrics)
tables = frontpage.headline_tables(summaries, book)
page = frontpage.front_page(
    summaries, book, read_csv(job.input.split), precisions, job.params.settings
)
write_csv(frontpage.as_csv(tables), job.output.table)
with atomic(job.output.page) as tmp:
    tmp.write_text(page)
