"""Rule fetch_picture: one picture named by URL in config, retried, checked to be a picture."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.downloads import retry_options  # noqa: E402
from snakevision.pictures import fetch  # noqa: E402

# Not params: how to reach a server does not change the picture (as for the archives).
fetch(
    job.params.url,
    job.output[0],
    job.params.key,
    **retry_options(job.config["dataset"]["download"]),
)
