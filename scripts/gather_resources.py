"""Rule resources: every job's benchmark in results/resources.csv and resources.png."""

from pathlib import Path

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.files import write_csv
from snakevision.report import resources

# Read from disk, not declared: the benchmarks of every job of the run, those that ran now and
# those kept from earlier runs, without making them outputs that other jobs would wait on.
files = sorted(Path(job.params.folder).rglob("*.tsv"))
unknown: list[str] = []
table = resources.gather(files, job.params.patterns, skip=[job.params.rule], unknown=unknown)
print(f"{len(table)} benchmarks in {job.params.folder}/", flush=True)
for path in unknown:
    print(f"left out {path}: no rule of this run writes it (delete it if stale)", flush=True)
write_csv(table, job.output.table)
resources.chart(table, job.output.chart)
