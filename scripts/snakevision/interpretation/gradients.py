"""The one place that takes gradients: TensorFlow's tape or JAX's grad (config allows no other)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras


def value_and_grad(fn: Callable[[Any], Any], x: Any) -> tuple[Any, Any]:
    """fn(x), a scalar, and its gradient with respect to x."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return value, tape.gradient(value, x)
    import jax

    return jax.value_and_grad(fn)(x)


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn compiled once per input shape (tf.function, jax.jit), for a loop of many calls."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    import jax

    return jax.jit(fn)
