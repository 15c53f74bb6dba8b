"""Rule compare: one task's models side by side over their seeds, table and figure."""

from snakevision.job import start

job = start(snakemake)

from snakevision import comparison, plots
from snakevision.files import read_history, write_csv
from snakevision.spread import read_summary

seeds = job.params.seeds  # model -> its seeds, in the order of the histories
summaries = {
    model: read_summary(path) for model, path in zip(seeds, job.input.summaries, strict=True)
}
histories = iter(job.input.histories)
runs = {model: {seed: read_history(next(histories)) for seed in seeds[model]} for model in seeds}
book = job.params.book
write_csv(comparison.table(summaries, book), job.output.table)
main = {
    model: comparison.book_value(book, model, s["main_metric"]) for model, s in summaries.items()
}
plots.seeds_figure(summaries, runs, main, job.output.figure)
