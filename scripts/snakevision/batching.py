"""What micro_batches means per model and machine; import-free, so the Snakefile reads it."""

# Models with batch normalization, which would normalise over parts of a batch with
# micro_batches above 1: the config check and snakevision.training.micro_batches refuse them.
BATCH_NORMALIZED = {"mini_xception"}

# Images per part that micro_batches: auto makes on a CPU, where activations take host memory:
# the book's segmentation job then peaks at 1.6 GB at batch 64, at equal speed (bench/README.md).
CPU_MICRO_BATCH = 8
