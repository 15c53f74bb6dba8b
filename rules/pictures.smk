# Pictures that config names by URL, for interpretation and for predict: each fetched once into
# PICTURES by the same local rule, and checked to be a picture.


rule fetch_picture:
    output:
        f"{PICTURES}/{{file}}",
    log:
        "logs/pictures/fetch_{file}.log",
    benchmark:
        "benchmarks/pictures/fetch_{file}.tsv"
    wildcard_constraints:
        file=one_of(URLS),
    localrule: True  # compute nodes of a cluster often have no internet
    conda:
        ENV
    threads: 1
    params:
        url=lookup(dpath="{file}/url", within=URLS),
        key=lookup(dpath="{file}/key", within=URLS),
    script:
        "../scripts/fetch_picture.py"
