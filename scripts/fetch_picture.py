"""Rule fetch_picture: one picture named by URL in config, retried, checked to be a picture."""

from snakevision.job import start

job = start(snakemake)

from snakevision.downloads import retry_options
from snakevision.pictures import fetch

# Not params: how to reach a server does not change the picture (as for the archives).
fetch(
    job.params.url,
    job.output[0],
    job.params.key,
    **retry_options(job.config["dataset"]["download"]),
)
