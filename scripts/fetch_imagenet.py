"""Rule fetch_imagenet: the ImageNet Xception's weights or class index, verified by MD5."""

from snakevision.job.logfile import fail
from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data.archives import DownloadError, Expected
from snakevision.data.downloads import download, retry_options

# Not params: how to reach a server does not change the file (as for the archives); nor is
# the hint, which would fetch a file already here again.
try:
    download(
        job.params.url,
        job.output[0],
        Expected(md5=job.params.md5),
        **retry_options(job.config["dataset"]["download"]),
        fix=(
            f"download it by hand to {job.output[0]} (curl -L -o {job.output[0]} {job.params.url}) "
            "and rerun, or give the path of a copy you have in interpretation.imagenet.weights or "
            ".class_index (whichever this file is)"
        ),
    )
except DownloadError as exc:  # its message ends with the fix: no traceback
    fail(exc)
