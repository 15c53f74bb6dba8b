"""Rule fetch_imagenet: the ImageNet Xception's weights or class index, verified by MD5."""

from snakevision.job import start

job = start(snakemake)  # noqa: F821 - injected by Snakemake

from snakevision.archives import Expected  # noqa: E402
from snakevision.downloads import download, retry_options  # noqa: E402

# Not params: how to reach a server does not change the file (as for the archives).
download(
    job.params.url,
    job.output[0],
    Expected(md5=job.params.md5),
    **retry_options(job.config["dataset"]["download"]),
)
