"""Rule headline: results/metrics.csv and the report's front page, from every metrics.json."""

from snakevision.job import start

job = start(snakemake)

from snakevision import frontpage
from snakevision.comparison import headline, read_metrics
from snakevision.files import atomic, read_csv, write_csv

runs = {
    (task, model): read_metrics(path)
    for (task, model), path in zip(job.params.models, job.input.metrics, strict=True)
}
models = [model for _, model in job.params.models]
precisions = {
    model: frontpage.last_precision(path)
    for model, path in zip(models, job.input.histories, strict=True)
}
write_csv(headline(runs, job.params.book), job.output.metrics)
tables = frontpage.headline_tables(runs, job.params.book)
page = frontpage.front_page(tables, read_csv(job.input.split), precisions, job.params.settings)
write_csv(frontpage.as_csv(tables), job.output.table)
with atomic(job.output.page) as tmp:
    tmp.write_text(page)
