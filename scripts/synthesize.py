"""Rule synthesize: write offline archives in the official layout."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.synthetic import write_archives

write_archives(
    job.output.images,
    job.output.annotations,
    **job.params.synthetic,
    workers=job.threads,
)
