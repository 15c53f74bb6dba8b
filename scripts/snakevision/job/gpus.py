"""One free GPU per job: device discovery, a kernel lock per device, memory limits. No Keras.

`snakemake --resources gpu=N` bounds how many trainings run at once, but every job would see
every GPU: TensorFlow maps memory on all of them and JAX preallocates most of the first. A job
that asks for a GPU therefore takes a free one under an flock(2) on a per-device lock file and
sees only it (CUDA_VISIBLE_DEVICES, set before the backend loads). The kernel drops the lock when
the process ends, however it ends (a failure, SIGKILL), so no stale marker can block a GPU.

Environment variables (read here only):
  SNAKEVISION_GPUS       device ids the jobs share out, comma-separated, numbered as nvidia-smi -L
                         does ("" for none); replaces the discovery (nvidia-smi -L, then
                         /proc/driver/nvidia/gpus). A CUDA_VISIBLE_DEVICES already set wins.
  SNAKEVISION_GPU_LOCKS  the lock folder (default: snakevision-gpus in the system temp folder);
                         runs that share a machine's GPUs must share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("snakevision")

GPUS_ENV = "SNAKEVISION_GPUS"
LOCKS_ENV = "SNAKEVISION_GPU_LOCKS"
PROC_GPUS = Path("/proc/driver/nvidia/gpus")
# CUDA_VISIBLE_DEVICES values that hide every GPU (SLURM writes NoDevFiles on some sites).
HIDDEN = {"", "-1", "NoDevFiles"}

_held: list[int] = []  # lock fds, open for the process's lifetime: closing one frees its GPU


class GpuError(ValueError):
    """A GPU request this machine cannot meet."""


@dataclass(frozen=True)
class Devices:
    """The GPU ids jobs may take, and where they were found (for messages)."""

    ids: list[str]
    source: str
    notes: list[str] = field(default_factory=list)  # why none, where `ids` is empty


@dataclass(frozen=True)
class Assignment:
    """The GPUs a job computes on; empty on the CPU."""

    ids: list[str]
    message: str


def _nvidia_smi(path: str | None) -> tuple[list[str] | None, str]:
    """GPU ids from `nvidia-smi -L` (MIG instances by UUID), or None and why not."""
    exe = shutil.which("nvidia-smi", path=path)
    if exe is None:
        return None, "nvidia-smi not found"
    try:
        run = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"nvidia-smi -L failed: {error}"
    if run.returncode != 0:
        first = (run.stdout + run.stderr).strip().splitlines()[:1]
        return None, f"nvidia-smi -L exited {run.returncode}: {' '.join(first)}"
    gpus: list[list[str]] = []  # per GPU: its index, then its MIG instances if any
    for line in run.stdout.splitlines():
        if match := re.match(r"GPU (\d+):", line):
            gpus.append([match[1]])
        elif gpus and (match := re.search(r"\bMIG\b.*\(UUID: (MIG-[^)\s]+)\)", line)):
            gpus[-1].append(match[1])
    # A MIG-enabled GPU computes only through its instances; CUDA takes their UUIDs.
    return [i for gpu in gpus for i in (gpu[1:] or gpu[:1])], "nvidia-smi -L"


def discover(environ: MutableMapping[str, str] = os.environ) -> Devices:
    """The GPUs of this machine, without importing a backend."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:  # CUDA shows no other device: choose among these
        ids = [] if visible.strip() in HIDDEN else [i.strip() for i in visible.split(",")]
        hidden = f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU"
        return Devices([i for i in ids if i], "CUDA_VISIBLE_DEVICES", [hidden])
    if GPUS_ENV in environ:
        ids = [i.strip() for i in environ[GPUS_ENV].split(",") if i.strip()]
        return Devices(ids, GPUS_ENV, [f"{GPUS_ENV} lists none"])
    ids, why = _nvidia_smi(environ.get("PATH"))
    if ids is not None:
        return Devices(ids, "nvidia-smi -L")
    if PROC_GPUS.is_dir():  # a driver without its tools, e.g. in a container
        buses = sorted(p for p in PROC_GPUS.iterdir() if p.is_dir())
        if buses:
            return Devices([str(i) for i in range(len(buses))], str(PROC_GPUS), [why])
    return Devices([], "nvidia-smi -L", [why, f"{PROC_GPUS} has no GPU"])


def check_request(requested: object, environ: MutableMapping[str, str] = os.environ) -> str:
    """Check `--resources gpu=N` against the machine's GPUs: raise if too many, else say what runs.

    Meant for the Snakefile of a local run. Where no GPU is found at all, jobs train on the CPU
    (as the default config's gpu=1 does on a laptop): a message, not an error.
    """
    if requested is None:
        return ""
    try:
        count = int(requested)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise GpuError(f"--resources gpu={requested!r} is not a number of GPUs") from None
    devices = discover(environ)
    found = len(devices.ids)
    if found == 0 and count > 0:
        return (
            f"--resources gpu={count} but no GPU found ({'; '.join(devices.notes)}): jobs "
            "that ask for a GPU run on the CPU."
        )
    if count > found:
        raise GpuError(
            f"--resources gpu={count} but this machine has {found} GPU(s) ({devices.source}: "
            f"{','.join(devices.ids)}); give --resources gpu={found} or less, or list the "
            f"devices to share out in {GPUS_ENV} (ids as CUDA_VISIBLE_DEVICES takes them)."
        )
    return f"--resources gpu={count}: {found} GPU(s) ({devices.source}: {','.join(devices.ids)})"


def bound_memory(environ: MutableMapping[str, str] = os.environ) -> None:
    """Let backends take GPU memory as they need it, unless the user chose otherwise."""
    # JAX preallocates 75% of the GPU, TensorFlow maps nearly all of every visible GPU at start:
    # a second process on the same GPU (an evaluation beside a training) then fails.
    if not {"XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_PYTHON_CLIENT_ALLOCATOR"} & environ.keys():
        environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")


def lock_folder(environ: MutableMapping[str, str] = os.environ) -> Path:
    """The folder of per-device lock files, created open to every user (like /tmp) if new."""
    folder = Path(environ.get(LOCKS_ENV) or Path(tempfile.gettempdir()) / "snakevision-gpus")
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise GpuError(
                f"cannot create the GPU lock folder {folder}: {error}; "
                f"set {LOCKS_ENV} to a writable folder"
            ) from None
        if LOCKS_ENV not in environ:  # the shared default: other users' runs lock here too
            with contextlib.suppress(PermissionError):  # another user's job made it first
                folder.chmod(0o1777)
    return folder


def _open(path: Path) -> int:
    """An fd of the lock file `path`, created if new."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # another user's lock file: flock needs no write access
        try:
            return os.open(path, os.O_RDONLY)
        except OSError as error:
            failure = error
    except OSError as error:
        failure = error
    raise GpuError(
        f"cannot open the GPU lock file {path}: {failure}; set {LOCKS_ENV} to a folder that "
        "every run sharing these GPUs can write"
    )


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None if another process holds it."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    with contextlib.suppress(OSError):  # for people who look: which process holds this GPU
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(path: Path) -> str:
    """The pid written into a lock file, for the waiting message."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"


def acquire(ids: list[str], count: int, folder: Path, poll_s: float = 5.0) -> list[str]:
    """Lock `count` of `ids`, first free first; wait while fewer are free. The locks stay held."""
    paths = {i: folder / f"gpu-{re.sub(r'[^A-Za-z0-9._-]', '_', i)}.lock" for i in ids}
    waited = False
    while True:
        taken: list[tuple[str, int]] = []
        for i in ids:
            fd = _try_lock(paths[i])
            if fd is not None:
                taken.append((i, fd))
                if len(taken) == count:
                    _held.extend(fd for _, fd in taken)
                    return [i for i, _ in taken]
        for _, fd in taken:  # not enough: hold none while waiting, or two jobs could deadlock
            os.close(fd)
        if not waited:
            busy = ", ".join(f"{i} (pid {_holder(paths[i])})" for i in ids)
            log.info("waiting for %d free GPU(s) of %s; locks in %s", count, busy, folder)
            waited = True
        time.sleep(poll_s)


def release() -> None:
    """Free the GPUs this process holds (the process's end does the same)."""
    while _held:
        os.close(_held.pop())


def assign(
    count: int = 1,
    environ: MutableMapping[str, str] = os.environ,
    poll_s: float = 5.0,
) -> Assignment:
    """Give this process `count` free GPUs for its lifetime through CUDA_VISIBLE_DEVICES."""
    loaded = sorted({"tensorflow", "jax"} & sys.modules.keys())
    if loaded:  # they enumerate devices at import: setting the variable now would change nothing
        log.warning("%s already imported: the GPU assignment comes too late", ", ".join(loaded))
    devices = discover(environ)
    if not devices.ids:
        why = "; ".join(devices.notes)
        return Assignment([], f"asks for {count} GPU(s), no GPU found ({why}): runs on the CPU")
    slurm = environ.get("SLURM_JOB_ID")
    if slurm and devices.source == "CUDA_VISIBLE_DEVICES" and len(devices.ids) <= count:
        return Assignment(devices.ids, f"GPU {','.join(devices.ids)} (SLURM job {slurm}'s)")
    if count > len(devices.ids):
        log.warning("asks for %d GPU(s), %s has %d", count, devices.source, len(devices.ids))
        count = len(devices.ids)
    folder = lock_folder(environ)
    if slurm and devices.source == "CUDA_VISIBLE_DEVICES":
        # Several jobs inside one allocation: its ids mean its own GPUs (device cgroups), not
        # those of another job on the node, so each allocation locks in its own folder.
        folder = folder / f"slurm-{slurm}"
        folder.mkdir(exist_ok=True)
    ids = acquire(devices.ids, count, folder, poll_s)
    if devices.source != "CUDA_VISIBLE_DEVICES":
        # nvidia-smi numbers GPUs by PCI bus; CUDA by default puts the fastest first.
        environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    environ["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
    return Assignment(
        ids,
        f"GPU {','.join(ids)} of {','.join(devices.ids)} ({devices.source}), locked in {folder}",
    )
