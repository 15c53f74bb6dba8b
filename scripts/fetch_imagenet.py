"""Rule fetch_imagenet: the ImageNet Xception's weights or class index, verified by MD5."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.archives import Expected  # noqa: E402
from snakevision.downloads import download  # noqa: E402

settings = job.config["dataset"]["download"]
download(
    job.params.url,
    job.output[0],
    Expected(md5=job.params.md5),
    retries=settings["retries"],
    backoff=settings["backoff_seconds"],
    timeout=settings["timeout_seconds"],
)
