"""The book's published figures (Deep Learning with Python, 2nd ed.), for side-by-side tables.

It publishes none for segmentation (no loss or IoU; it notes overfitting around epoch 25).
"""

# Test accuracy of the cats-vs-dogs models (chapters 8 and 9).
CLASSIFIER_ACCURACY = {"convnet": 0.835, "mini_xception": 0.908}
