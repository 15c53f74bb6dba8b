"""Rule download: fetch one official archive, verify it, rename it into place."""

from snakevision.job.logfile import fail
from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.archives import DownloadError, Expected
from snakevision.data.downloads import download, retry_options

# Not params (see rules/data.smk): changing them must not rerun the rules downstream.
dataset = job.config["dataset"]
try:
    download(
        dataset["archives"][job.wildcards.archive]["url"],
        job.output[0],
        Expected(**job.params.expected),
        **retry_options(dataset["download"]),
    )
except DownloadError as exc:  # its message ends with the fix: the log ends with it, no traceback
    fail(exc)
