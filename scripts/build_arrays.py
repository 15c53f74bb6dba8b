"""Rule arrays: one array of a task's split, uint8, rows in split.csv order."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data import arrays, pets
from snakevision.files import read_csv
from snakevision.labels import SPECIES

task, split, kind = job.wildcards.task, job.wildcards.split, job.wildcards.kind
rows = pets.members(read_csv(job.input.index), read_csv(job.input.split), task, split)
target, size = job.output[0], job.params.size
if kind == "images":
    arrays.write_stack(rows.image.tolist(), target, "image", size, job.threads)
elif kind == "masks":
    arrays.write_stack(rows.trimap.tolist(), target, "mask", size, job.threads)
else:
    arrays.write_labels(rows.species.map(SPECIES.index), target)
