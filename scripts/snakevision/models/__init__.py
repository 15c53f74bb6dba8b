"""Keras model builders: the book's segmentation model and its classification convnets."""
