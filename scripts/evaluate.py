"""Rule evaluate: a trained model's metrics.json on its held-out split, and its training curves."""

from snakevision.job.setup import start

job = start(snakemake)

import keras
from snakevision.data.npy import Rows
from snakevision.evaluation import scoring
from snakevision.files import read_history, write_json
from snakevision.models.tasks import TASKS
from snakevision.report import plots
from snakevision.training import stopping

task, name, seed = job.wildcards.task, job.wildcards.run, job.wildcards.seed
model = keras.models.load_model(job.input.model)
metrics = scoring.EVALUATE[task](
    model, Rows(job.input.images), Rows(job.input.truth), job.params.batch_size
)
history = read_history(job.input.history)
# Where the training ended (its epochs, or where patience stopped it) and its best epoch.
training = stopping.record(history.val_loss.tolist(), **job.params.training)
write_json({**metrics, "params": model.count_params(), "training": training}, job.output.metrics)
title = f"{task.capitalize()}, {name}, seed {seed}: training history"
plots.training_curves(history, job.output.curves, TASKS[task].main, title)
