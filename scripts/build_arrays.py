"""Rules arrays_*: one task's uint8 arrays, rows in split.csv order."""

from pathlib import Path

from snakevision.job import start

job = start(snakemake)

from snakevision import arrays, pets
from snakevision.files import read_csv

index, splits = read_csv(job.input.index), read_csv(job.input.split)
for target in job.output:
    name, kind = Path(target).stem.split("_")  # e.g. train_images
    rows = pets.members(index, splits, job.params.task, name)
    if kind == "images":
        arrays.write_stack(rows.image.tolist(), target, "image", job.params.size, job.threads)
    elif kind == "masks":
        arrays.write_stack(rows.trimap.tolist(), target, "mask", job.params.size, job.threads)
    else:
        arrays.write_labels(rows.species.map(pets.SPECIES.index), target)
