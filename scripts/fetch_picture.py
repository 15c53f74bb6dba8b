"""Rule fetch_picture: one picture named by URL in config, retried, checked to be a picture."""

from snakevision.job.logfile import fail
from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.archives import DownloadError
from snakevision.data.downloads import retry_options
from snakevision.data.images import DecodeError
from snakevision.data.pictures import fetch

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
