"""Keras model builders: the book's segmentation model and a U-Net, the classification convnets."""
