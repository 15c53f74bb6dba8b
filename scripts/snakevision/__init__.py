"""snakevision: the library behind the workflow's rules (never imports snakemake)."""
