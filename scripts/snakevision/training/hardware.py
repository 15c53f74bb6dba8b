"""What the machine offers training: CPU features and the accelerators the Keras backend sees."""

from __future__ import annotations

from pathlib import Path

import keras

CPU_BF16_FLAGS = {"amx_bf16", "avx512_bf16"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo is missing)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def gpu_capabilities() -> list[tuple[int, int]]:
    """Compute capabilities of the GPUs the active backend sees."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        caps = []
        for device in jax.devices():
            if device.platform == "gpu" and getattr(device, "compute_capability", None):
                major, minor = str(device.compute_capability).split(".")[:2]
                caps.append((int(major), int(minor)))
        return caps
    if backend == "tensorflow":
        import tensorflow as tf

        details = [
            tf.config.experimental.get_device_details(g)
            for g in tf.config.list_physical_devices("GPU")
        ]
        return [tuple(d["compute_capability"]) for d in details if d.get("compute_capability")]
    return []


def has_accelerator() -> bool:
    """Whether the active backend computes on a GPU or TPU rather than the CPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return any(tf.config.list_physical_devices(kind) for kind in ("GPU", "TPU"))
    return False


def fast_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[bool, str]:
    """Whether this machine runs bf16 matrix work fast, and why."""
    caps = gpu_capabilities()
    if caps:
        ok = all(c >= (8, 0) for c in caps)  # Ampere and newer have bf16 tensor cores
        return ok, f"GPU compute capability {caps}"
    flags = cpu_flags(cpuinfo) & CPU_BF16_FLAGS
    if flags:
        return True, f"CPU with {', '.join(sorted(flags))}"
    return False, "no GPU and no CPU bf16 instructions (amx_bf16, avx512_bf16)"
