"""Rule check_batch_size: segmentation's batch fits its train split, checked before training.

The config check knows only an upper bound of the split (the usable images are known once
indexed). This is a rule of its own, without retries: the training rule's one retry is for a
killed job, and a batch too large would fail the same way twice.
"""

import math

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.files import read_csv, write_json
from snakevision.training.batch_sizes import batch_problem

split = read_csv(job.input.split)
images = int((split.split == "train").sum())
key, batch_size = job.params.batch["key"], job.params.batch["batch_size"]
if problem := batch_problem(key, batch_size, images, f"the train rows of {job.input.split}"):
    raise ValueError(problem)
write_json(
    {"train_images": images, "batch_size": batch_size, "batches": math.ceil(images / batch_size)},
    job.output[0],
)
