"""Rule train_classifier: a cats-vs-dogs model, best val_loss kept, resumable."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision import training  # noqa: E402
from snakevision.models import classification  # noqa: E402
from snakevision.npy import Rows  # noqa: E402
from snakevision.resume import state_dir  # noqa: E402

settings = training.Settings.from_params(job.params.train)
build = classification.BUILDERS[job.wildcards.model]
training.fit(
    lambda: build(job.params.image_size, seed=settings.seed),
    training.TASKS["classification"],
    settings,
    train=(Rows(job.input.train_images), Rows(job.input.train_labels)),
    val=(Rows(job.input.val_images), Rows(job.input.val_labels)),
    model_path=job.output.model,
    history_path=job.output.history,
    state_dir=state_dir(job.output.model),
)
