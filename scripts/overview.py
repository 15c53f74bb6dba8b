"""Rule overview: sample images beside their trimaps, and the species balance of every split."""

import numpy as np
import pandas as pd
from snakevision.job.setup import start

job = start(snakemake)

from snakevision.data import pets
from snakevision.data.images import load_image, load_mask
from snakevision.files import read_csv
from snakevision.report import plots

SIZE = 200  # display size of the samples
index, splits = read_csv(job.input.index), read_csv(job.input.split)
rows = pets.members(index, splits, "segmentation", "train")
settings = job.params.overview
count = min(settings["num_samples"], len(rows))
chosen = rows.iloc[
    np.sort(np.random.default_rng(settings["seed"]).choice(len(rows), count, replace=False))
]
images = np.stack([load_image(p, SIZE) for p in chosen.image])
masks = np.stack([load_mask(p, SIZE) for p in chosen.trimap])

species = index[index.status == "ok"].drop_duplicates("stem").set_index("stem").species
labelled = splits.assign(species=splits.stem.map(species), column=splits.task + " " + splits.split)
counts = pd.crosstab(labelled.species, labelled.column)
plots.overview(images, masks, counts, job.output[0])
