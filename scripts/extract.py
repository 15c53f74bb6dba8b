"""Rule extract: unpack one archive's top folder, refusing unsafe members."""

from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.archives import Expected, extract

expected = Expected(**job.params.expected) if job.params.expected else None
extract(job.input.archive, job.output[0], top=job.wildcards.archive, expected=expected)
