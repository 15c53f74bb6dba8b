"""Pick the Keras dtype policy: mixed bfloat16 where the hardware runs bf16 fast."""

from __future__ import annotations

import logging

from snakevision import hardware

log = logging.getLogger(__name__)

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def choose(requested: str) -> str:
    """The policy to use for a requested one ('auto' or a policy name)."""
    if requested != "auto":
        if requested not in POLICIES:
            raise ValueError(f"precision {requested!r} is not one of auto, {', '.join(POLICIES)}")
        return requested
    fast, why = hardware.fast_bf16()
    policy = "mixed_bfloat16" if fast else "float32"
    log.info("precision auto -> %s (%s)", policy, why)
    return policy
