# Helpers shared by every stage.

from snakevision.imports import library_modules

SCRIPTS = Path(workflow.basedir) / "scripts"
ENV = "../envs/snakevision.yaml"
ARCHIVES = ["images", "annotations"]
# Threads of the parallel rules (decoding, training): Snakemake scales them down to --cores on
# one machine; on a cluster each such job asks for this many CPUs.
THREADS = 8


wildcard_constraints:
    archive="|".join(ARCHIVES),
    model="|".join(config["classification"]["models"]),


def library(script):
    """The library modules a rule's script imports, as inputs: editing one reruns that rule."""
    return [str(path) for path in library_modules(SCRIPTS / script)]


def archive_path(wildcards):
    """Where the archive comes from: the verified download or the synthetic generator."""
    folder = "downloads" if config["dataset"]["source"] == "download" else "synthetic"
    return f"resources/{folder}/{wildcards.archive}.tar.gz"
