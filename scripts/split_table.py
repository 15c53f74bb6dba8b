"""Rule split_table: both tasks' splits in one table, results/data/split.csv."""

from snakevision.job.setup import start

job = start(snakemake)

import pandas as pd
from snakevision.files import read_csv, write_csv

tables = [read_csv(path) for path in job.input.splits]
write_csv(pd.concat(tables, ignore_index=True), job.output[0])
