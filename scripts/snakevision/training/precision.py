"""Pick the Keras dtype policy: mixed bfloat16 where the hardware runs bf16 fast."""

from __future__ import annotations

import logging

from snakevision.training import hardware

log = logging.getLogger(__name__)


def choose(requested: str) -> str:
    """The policy to use for a requested one ('auto' or a policy name the schema allows)."""
    if requested != "auto":
        return requested
    fast, why = hardware.fast_bf16()
    policy = "mixed_bfloat16" if fast else "float32"
    log.info("precision auto -> %s (%s)", policy, why)
    return policy
