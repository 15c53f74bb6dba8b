"""Rule front_page: the report's front page (headline results, data, settings) as rst."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.files import atomic, read_csv, write_csv  # noqa: E402
from snakevision.frontpage import front_page, headline_table, last_precision  # noqa: E402

histories = dict(zip(job.params.models, job.input.histories, strict=True))
precisions = {model: last_precision(path) for model, path in histories.items()}
metrics = read_csv(job.input.metrics)
text = front_page(metrics, read_csv(job.input.split), precisions, job.params.settings)
write_csv(headline_table(metrics), job.output.table)
with atomic(job.output.page) as tmp:
    tmp.write_text(text)
