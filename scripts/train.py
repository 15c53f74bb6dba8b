"""Rule train: one model of either task, best val_loss kept, resumable, served from kept states."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.npy import Rows
from snakevision.models.build import build
from snakevision.training import trainer
from snakevision.training.states import state_root

task, architecture = job.wildcards.task, job.params.architecture
settings = trainer.Settings.from_params(job.params.train)
trainer.fit(
    lambda: build(task, architecture, job.params.image_size, seed=settings.seed),
    trainer.OBJECTIVES[task],
    settings,
    train=(Rows(job.input.train_images), Rows(job.input.train_truth)),
    val=(Rows(job.input.val_images), Rows(job.input.val_truth)),
    model_path=job.output.model,
    history_path=job.output.history,
    state_dir=state_root(job.output.model),
    tensorboard_dir=job.params.tensorboard,
    code=job.input.code,  # edited training code trains in a state folder of its own
)
