"""Rule compare: one task's runs side by side over their seeds, table and figure."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.evaluation import comparison
from snakevision.evaluation.spread import read_summary
from snakevision.files import read_history, write_csv
from snakevision.report import seeds_figure

runs = job.params.runs  # run -> its architecture, seeds, published figure: the inputs' order
summaries = {run: read_summary(path) for run, path in zip(runs, job.input.summaries, strict=True)}
histories = iter(job.input.histories)
curves = {run: {seed: read_history(next(histories)) for seed in runs[run]["seeds"]} for run in runs}
published = {run: found["published"] for run, found in runs.items()}
architectures = {run: found["architecture"] for run, found in runs.items()}
write_csv(comparison.table(summaries, published, architectures), job.output.table)
main = {
    run: comparison.published_value(published, run, summary["main_metric"])
    for run, summary in summaries.items()
}
seeds_figure.draw(summaries, curves, main, job.output.figure)
