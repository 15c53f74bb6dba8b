"""Rule synthesize: write offline archives in the official layout."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.synthetic import write_archives  # noqa: E402

write_archives(
    job.output.images,
    job.output.annotations,
    images_per_breed=job.params.images_per_breed,
    seed=job.params.seed,
    min_side=job.params.min_side,
    max_side=job.params.max_side,
    workers=job.threads,
)
