"""Interpreting what convnets learn (DLwP 2nd ed., ch. 9.4): activations, filters, Grad-CAM."""
