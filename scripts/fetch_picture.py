"""Rule fetch_picture: one picture named by URL in config, retried, checked to be a picture."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.pictures import fetch  # noqa: E402

# Not params: how to reach a server does not change the picture (as for the archives).
settings = job.config["dataset"]["download"]
fetch(
    job.params.url,
    job.output[0],
    job.params.key,
    retries=settings["retries"],
    backoff=settings["backoff_seconds"],
    timeout=settings["timeout_seconds"],
)
