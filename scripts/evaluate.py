"""Rules evaluate_*: a trained model's metrics.json on its held-out split."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

import keras  # noqa: E402
from snakevision import evaluation  # noqa: E402
from snakevision.files import write_json  # noqa: E402
from snakevision.npy import Rows  # noqa: E402

model = keras.models.load_model(job.input.model)
evaluate = {"segmentation": evaluation.segmentation, "classification": evaluation.classifier}
metrics = evaluate[job.params.task](
    model, Rows(job.input.images), Rows(job.input.truth), job.params.batch_size
)
write_json(metrics, job.output[0])
