"""The book's published figures (Deep Learning with Python, 2nd ed.), for side-by-side tables."""

# Test accuracy of the cats-vs-dogs models (chapters 8 and 9).
CLASSIFIER_ACCURACY = {"convnet": 0.835, "mini_xception": 0.908}

# Segmentation: no loss or IoU figure is published; the book notes overfitting around epoch 25.
SEGMENTATION: dict[str, float] = {}
