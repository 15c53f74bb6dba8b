"""Rule fetch_picture: one picture named by URL in config, retried, checked to be a picture."""

from snakevision.job import fail, start

job = start(snakemake)

from snakevision.archives import DownloadError
from snakevision.downloads import retry_options
from snakevision.images import DecodeError
from snakevision.pictures import fetch

# Not params: how to reach a server does not change the picture (as for the archives).
try:
    fetch(
        job.params.url,
        job.output[0],
        job.params.key,
        **retry_options(job.config["dataset"]["download"]),
    )
except (DownloadError, DecodeError) as exc:  # messages that end with the fix: no traceback
    fail(exc)
