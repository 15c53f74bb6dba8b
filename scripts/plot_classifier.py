"""Rule plot_classifier: accuracy and loss curves of one classifier."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision import plots  # noqa: E402
from snakevision.files import read_history  # noqa: E402

plots.classifier_curves(read_history(job.input.history), job.output[0], title=job.wildcards.model)
