"""Rule synthesize: write offline archives in the official layout."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.synthetic import write_archives  # noqa: E402

write_archives(
    job.output.images,
    job.output.annotations,
    **job.params.synthetic,
    workers=job.threads,
)
