"""What micro_batches means per model and machine; import-free, so the Snakefile reads it."""

# Models with batch normalization, which would normalise over parts of a batch with
# micro_batches above 1: the config check and snakevision.training.micro_batches refuse them.
BATCH_NORMALIZED = {"mini_xception"}

# Images per part that micro_batches: auto makes on a CPU, where activations take host memory:
# the book's segmentation job then peaks at 1.6 GB at batch 64, at equal speed (bench/README.md).
CPU_MICRO_BATCH = 8


def batch_problem(key: str, batch_size: int, images: int, source: str) -> str | None:
    """Why a training section's batch_size cannot be, None if it can: larger than its split.

    key is the config section ('segmentation.train'), source says where the count comes from.
    """
    if batch_size <= images:
        return None
    return (
        f"{key}.batch_size ({batch_size}) exceeds the {images} images it trains on ({source}); "
        f"allowed: 1..{images}"
    )
