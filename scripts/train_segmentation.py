"""Rule train_segmentation: one segmentation model, best val_loss kept, resumable."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision import training  # noqa: E402
from snakevision.models import segmentation  # noqa: E402
from snakevision.npy import Rows  # noqa: E402
from snakevision.resume import state_dir  # noqa: E402

training.fit(
    lambda: segmentation.BUILDERS[job.wildcards.model](job.params.image_size, num_classes=3),
    training.TASKS["segmentation"],
    training.Settings.from_params(job.params.train),
    train=(Rows(job.input.train_images), Rows(job.input.train_masks)),
    val=(Rows(job.input.val_images), Rows(job.input.val_masks)),
    model_path=job.output.model,
    history_path=job.output.history,
    state_dir=state_dir(job.output.model),
)
