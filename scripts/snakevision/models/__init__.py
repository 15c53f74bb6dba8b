"""The models: a Keras-free catalog of their facts, and the Keras builders under the same names."""
