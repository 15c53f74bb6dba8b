"""Tests for one GPU per job: kernel locks between real processes, SLURM, the request check."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from snakevision.job import gpus
from workflow import REPO

SCRIPTS = REPO / "scripts"
OURS = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "SLURM_JOB_ID", gpus.GPUS_ENV, gpus.LOCKS_ENV)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without GPU settings, with fake device ids and a lock folder."""
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env[gpus.LOCKS_ENV] = str(tmp_path / "locks")
    env.update(extra)
    return env


HOLDER = textwrap.dedent(f"""
    import os, sys
    sys.path.insert(0, {str(SCRIPTS)!r})
    from snakevision.job import gpus
    done = gpus.assign(1, poll_s=0.05)
    print(",".join(done.ids), os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
    sys.stdin.read()  # hold the GPU until the test closes stdin or kills us
""")


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen]]:
    """Processes that took a GPU and hold it; killed after the test."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def _hold(env: dict[str, str], started: list[subprocess.Popen]) -> subprocess.Popen:
    """Start a process that assigns itself one GPU and holds it."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    started.append(process)
    return process


def _taken(process: subprocess.Popen, timeout: float = 20) -> str | None:
    """The GPU id a holder printed, or None if it printed nothing within `timeout` (waiting)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        return None
    ids, visible = process.stdout.readline().split()
    assert ids == visible  # what the backend will see is what was locked
    return ids


def test_two_concurrent_jobs_get_different_gpus(tmp_path: Path, holders: list) -> None:
    env = _env(tmp_path, **{gpus.GPUS_ENV: "0,1"})
    first, second = _hold(env, holders), _hold(env, holders)
    assert sorted([_taken(first), _taken(second)]) == ["0", "1"]


def test_a_killed_jobs_gpu_is_free_again(tmp_path: Path, holders: list) -> None:
    env = _env(tmp_path, **{gpus.GPUS_ENV: "0,1"})
    first = _hold(env, holders)
    assert _taken(first) == "0"
    second = _hold(env, holders)
    assert _taken(second) == "1"
    third = _hold(env, holders)
    assert _taken(third, timeout=1) is None  # both GPUs busy: it waits, it does not share
    first.send_signal(signal.SIGKILL)  # no cleanup code runs: the kernel drops the lock
    assert _taken(third) == "0"
    assert (tmp_path / "locks" / "gpu-0.lock").exists()  # a lock file alone blocks nothing


def test_a_finished_jobs_gpu_is_free_again(tmp_path: Path, holders: list) -> None:
    env = _env(tmp_path, **{gpus.GPUS_ENV: "7"})
    first = _hold(env, holders)
    assert _taken(first) == "7"
    first.communicate("")  # closes stdin: the holder ends normally
    assert _taken(_hold(env, holders)) == "7"


def test_a_slurm_jobs_gpu_is_kept() -> None:
    env = {"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "3", gpus.GPUS_ENV: "0,1"}
    done = gpus.assign(1, env)
    assert done.ids == ["3"]
    assert env["CUDA_VISIBLE_DEVICES"] == "3"
    assert "SLURM job 42" in done.message
    assert "CUDA_DEVICE_ORDER" not in env  # the scheduler's numbering stays


def test_jobs_inside_a_slurm_allocation_of_two_gpus_share_them_out(tmp_path: Path) -> None:
    # `snakemake --resources gpu=2` run inside `salloc --gpus 2`: each job takes one.
    env = {"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "0,1", gpus.LOCKS_ENV: str(tmp_path)}
    try:
        first = gpus.assign(1, dict(env))
        second = gpus.assign(1, dict(env))  # another open file: flock conflicts in-process too
    finally:
        gpus.release()
    assert (first.ids, second.ids) == (["0"], ["1"])
    assert (tmp_path / "slurm-42" / "gpu-0.lock").exists()  # this allocation's own numbering


def test_the_users_visible_devices_are_the_ones_shared_out(tmp_path: Path) -> None:
    env = {"CUDA_VISIBLE_DEVICES": "2,3", gpus.GPUS_ENV: "0,1", gpus.LOCKS_ENV: str(tmp_path)}
    try:
        done = gpus.assign(1, env)
    finally:
        gpus.release()
    assert done.ids == ["2"] and env["CUDA_VISIBLE_DEVICES"] == "2"


def test_discovered_gpus_are_numbered_as_nvidia_smi_does(tmp_path: Path) -> None:
    env = {gpus.GPUS_ENV: "0,1", gpus.LOCKS_ENV: str(tmp_path)}
    try:
        gpus.assign(1, env)
    finally:
        gpus.release()
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_no_gpu_runs_on_the_cpu() -> None:
    env = {gpus.GPUS_ENV: ""}
    done = gpus.assign(1, env)
    assert done.ids == [] and "CUDA_VISIBLE_DEVICES" not in env
    assert "runs on the CPU" in done.message
    assert gpus.assign(1, {"CUDA_VISIBLE_DEVICES": "-1"}).ids == []  # the user hid them


def test_nvidia_smi_lists_gpus_and_mig_instances(tmp_path: Path) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaaa)'\n"
        "echo 'GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb)'\n"
        "echo '  MIG 3g.20gb     Device  0: (UUID: MIG-cccc)'\n"
        "echo '  MIG 3g.20gb     Device  1: (UUID: MIG-dddd)'\n"
    )
    smi.chmod(0o755)
    devices = gpus.discover({"PATH": str(tmp_path)})
    assert devices.ids == ["0", "MIG-cccc", "MIG-dddd"]
    assert devices.source == "nvidia-smi -L"
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed: no driver'\nexit 9\n")
    assert "exited 9" in "; ".join(gpus.discover({"PATH": str(tmp_path)}).notes)


def test_more_gpus_asked_than_found_is_an_error_naming_the_count() -> None:
    env = {gpus.GPUS_ENV: "0,1"}
    with pytest.raises(gpus.GpuError) as error:
        gpus.check_request(4, env)
    assert "--resources gpu=4 but this machine has 2 GPU(s) (SNAKEVISION_GPUS: 0,1)" in str(
        error.value
    )
    assert "--resources gpu=2 or less" in str(error.value)
    assert "2 GPU(s)" in gpus.check_request(2, env)
    assert gpus.check_request(None, env) == ""  # no --resources gpu: nothing to check


def test_asking_gpus_on_a_machine_without_any_trains_on_the_cpu() -> None:
    message = gpus.check_request(1, {gpus.GPUS_ENV: ""})
    assert message == (
        "--resources gpu=1 but no GPU found (SNAKEVISION_GPUS lists none): jobs that ask for a GPU"
        " run on the CPU."
    )


def test_memory_is_taken_as_needed_unless_the_user_chose() -> None:
    env: dict[str, str] = {}
    gpus.bound_memory(env)
    assert env == {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    env = {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.4", "TF_FORCE_GPU_ALLOW_GROWTH": "false"}
    gpus.bound_memory(env)
    assert env == {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.4", "TF_FORCE_GPU_ALLOW_GROWTH": "false"}


CPU_LOG = "asks for 1 GPU(s), no GPU found (SNAKEVISION_GPUS lists none): runs on the CPU"


@pytest.mark.parametrize(
    ("devices", "visible", "logged"), [("5", "5", "GPU 5 of 5"), ("", "None", CPU_LOG)]
)
def test_job_start_gives_a_job_asking_for_a_gpu_its_own(
    tmp_path: Path, devices: str, visible: str, logged: str
) -> None:
    log, result = tmp_path / "job.log", tmp_path / "result.txt"
    script = textwrap.dedent(f"""
        import os, sys
        from types import SimpleNamespace
        sys.path.insert(0, {str(SCRIPTS)!r})
        from snakevision.job.setup import start
        smk = SimpleNamespace(
            input=[], output=[], params=SimpleNamespace(), wildcards={{}}, config={{}},
            threads=1, log=[{str(log)!r}], rule="train", resources=SimpleNamespace(gpu=1),
        )
        job = start(smk)
        env = os.environ
        open({str(result)!r}, "w").write(
            f"{{job.gpus}} {{env.get('CUDA_VISIBLE_DEVICES')}} {{env['TF_FORCE_GPU_ALLOW_GROWTH']}}"
        )
    """)
    env = _env(tmp_path, **{gpus.GPUS_ENV: devices})
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert result.read_text() == f"{[devices] if devices else []} {visible} true"
    assert f"rule train: {logged}" in log.read_text()


def test_a_lock_folder_that_cannot_be_made_names_the_variable_to_set(tmp_path: Path) -> None:
    taken = tmp_path / "a_file"
    taken.write_text("")
    with pytest.raises(
        gpus.GpuError, match=f"cannot create the GPU lock folder {taken}.*{gpus.LOCKS_ENV}"
    ):
        gpus.assign(1, {gpus.GPUS_ENV: "0", gpus.LOCKS_ENV: str(taken)})
