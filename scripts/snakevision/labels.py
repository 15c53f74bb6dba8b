"""The label names every stage shares: the trimap classes and the species, by label value."""

# Mask values 0, 1, 2: the trimap's 1, 2, 3 minus one.
TRIMAP_CLASSES: tuple[str, ...] = ("pet", "background", "border")
# Classification labels 0 and 1; a classifier's sigmoid gives the probability of the second.
SPECIES: tuple[str, ...] = ("cat", "dog")
