# Pictures that config names by URL, for interpretation and for predict: each fetched once into
# PICTURES by the same local rule, and checked to be a picture.

import re

from snakevision.pictures import file_name, is_url

IMAGENET_CONFIG = config["interpretation"]["imagenet"]
PICTURE_LISTS = {
    "interpretation.images": config["interpretation"]["images"],
    # Left out with the ImageNet Xception, as the config check leaves them.
    "interpretation.imagenet.images": (
        IMAGENET_CONFIG["images"] if IMAGENET_CONFIG["weights"] != "none" else []
    ),
    "predict.images": config["predict"]["images"],
}
# File name -> (URL, config key) of every picture to fetch; the config check refuses two URLs
# with one file name.
URLS = {
    file_name(entry): (entry, key)
    for key, entries in PICTURE_LISTS.items()
    for entry in entries
    if is_url(entry)
}


rule fetch_picture:
    output:
        f"{PICTURES}/{{file}}",
    log:
        "logs/pictures/fetch_{file}.log",
    benchmark:
        "benchmarks/pictures/fetch_{file}.tsv"
    wildcard_constraints:
        file="|".join(map(re.escape, URLS)) or "(?!)",
    localrule: True  # compute nodes of a cluster often have no internet
    conda:
        ENV
    threads: 1
    params:
        url=lambda w: URLS[w.file][0],
        key=lambda w: URLS[w.file][1],
    script:
        "../scripts/fetch_picture.py"
