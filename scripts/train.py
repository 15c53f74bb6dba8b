"""Rule train: one model of either task, best val_loss kept, resumable, served from kept states."""

from snakevision.job import start

job = start(snakemake)

from snakevision import training
from snakevision.models.build import build
from snakevision.npy import Rows
from snakevision.states import state_root

task, name = job.wildcards.task, job.wildcards.model
settings = training.Settings.from_params(job.params.train)
training.fit(
    lambda: build(task, name, job.params.image_size, seed=settings.seed),
    training.TASKS[task],
    settings,
    train=(Rows(job.input.train_images), Rows(job.input.train_truth)),
    val=(Rows(job.input.val_images), Rows(job.input.val_truth)),
    model_path=job.output.model,
    history_path=job.output.history,
    state_dir=state_root(job.output.model),
    tensorboard_dir=job.params.tensorboard,
    code=job.input.code,  # edited training code trains in a state folder of its own
)
