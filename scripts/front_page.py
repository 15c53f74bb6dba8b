"""Rule front_page: results/metrics.csv and the report's front page, from every summary.json."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.evaluation.comparison import every_metric
from snakevision.evaluation.spread import read_summary
from snakevision.files import atomic, read_csv, write_csv
from snakevision.report import front_page

runs = job.params.runs  # run -> its record (task, architecture, recipe...), the inputs' order
keys = [(found["task"], run) for run, found in runs.items()]
summaries = {key: read_summary(path) for key, path in zip(keys, job.input.summaries, strict=True)}
precisions = {
    run: front_page.last_precision(path)
    for run, path in zip(runs, job.input.histories, strict=True)
}
published = {run: found["published"] for run, found in runs.items()}
architectures = {run: found["architecture"] for run, found in runs.items()}
write_csv(every_metric(summaries, published, architectures), job.output.metrics)
tables = front_page.task_tables(summaries, runs)
page = front_page.front_page(
    summaries, runs, read_csv(job.input.split), precisions, job.params.settings
)
write_csv(front_page.as_csv(tables), job.output.table)
with atomic(job.output.page) as tmp:
    tmp.write_text(page)
