"""Rule download: fetch one official archive, verify it, rename it into place."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.archives import Expected, download  # noqa: E402

download(
    job.params.url,
    job.output[0],
    Expected(job.params.sha256, job.params.size),
    retries=job.params.retries,
    backoff=job.params.backoff,
    timeout=job.params.timeout,
)
