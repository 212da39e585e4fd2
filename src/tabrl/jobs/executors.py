"""Where jobs run. The scheduler only talks to the `Executor` protocol.

`LocalProcessExecutor` runs each job in its own worker process on this machine (JAX and
MuJoCo state never live in the API process); the worker writes progress and its outcome
into the shared database itself. `tabrl.jobs.ray_executor.RayExecutor` runs each job on a
Ray cluster and `tabrl.jobs.modal_executor.ModalExecutor` as a call of a deployed Modal app; both
relay progress and files back to this server, so routes do not change.

References (`start`'s return value) are opaque to the scheduler: each executor owns its
handles (a pid here, a Ray actor there) and how to find a previous server's workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

# Re-exported: the scheduler imports them from here.
from tabrl.jobs.executor_protocol import PARENT_ENV, Executor, WorkerState
from tabrl.paths import home_dir, sub_dir

if TYPE_CHECKING:
    from tabrl.jobs.store import JobStore


def log_path(job_id: str) -> Path:
    """The worker's stdout/stderr log."""
    return sub_dir(home_dir(), "logs") / f"{job_id}.log"


def _signal_reason(code: int) -> str:
    if code >= 0:
        return f"worker exited with code {code}"
    name = signal.Signals(-code).name
    hint = " (the system may have run out of memory)" if -code == signal.SIGKILL else ""
    return f"worker was killed by {name}{hint}"


class LocalProcessExecutor:
    """One `python -m tabrl.jobs.worker JOB_ID` process per job on this machine."""

    name = "local"

    def __init__(self) -> None:
        self._procs: dict[str, subprocess.Popen] = {}

    def start(self, job_id: str) -> str:
        log = open(log_path(job_id), "ab")  # noqa: SIM115 - handed to the child process
        env = {**os.environ, "TABRL_HOME": str(home_dir()), "PYTHONUNBUFFERED": "1",
               PARENT_ENV: str(os.getpid())}  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "tabrl.jobs.worker", job_id],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # Own session: a Ctrl-C in the server's terminal must not kill training mid-write.
            start_new_session=True,
        )
        log.close()
        ref = f"pid:{proc.pid}"
        self._procs[ref] = proc
        return ref

    def poll(self, ref: str) -> WorkerState:
        proc = self._procs.get(ref)
        if proc is None:
            pid = _pid(ref)
            return WorkerState(
                alive=pid is not None and pid_alive(pid), reason="worker from a previous server run"
            )
        code = proc.poll()
        if code is None:
            return WorkerState(alive=True)
        self._procs.pop(ref, None)
        return WorkerState(alive=False, exit_code=code, reason=_signal_reason(code) if code else None)

    def stop(self, ref: str, *, force: bool = False) -> None:
        pid = _pid(ref)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if force else signal.SIGTERM)

    def recover(self, job_id: str, ref: str | None) -> None:
        pid = _pid(ref)
        if pid is None or not pid_alive(pid, job_id):
            return
        self.stop(ref)  # type: ignore[arg-type]
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline and pid_alive(pid, job_id):
            time.sleep(0.1)
        if pid_alive(pid, job_id):
            self.stop(ref, force=True)  # type: ignore[arg-type]


def _pid(ref: str | None) -> int | None:
    """The pid in a `pid:N` reference (None for anything else, e.g. another executor's)."""
    if not ref or not ref.startswith("pid:"):
        return None
    try:
        return int(ref.split(":", 1)[1])
    except ValueError:
        return None


def pid_alive(pid: int, job_id: str | None = None) -> bool:
    """Whether `pid` is a TabRL worker still running (for `job_id` when given), not a reused pid.

    With `job_id`, the process must be `python -m tabrl.jobs.worker <job_id>`: after a restart
    the pid recorded for a job may now belong to another program, or to another TabRL
    instance's worker (its own TABRL_HOME), which must never be stopped by this one.
    """
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        if Path("/proc/self").exists():
            return False  # Linux: no /proc entry, no process
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return job_id is None  # cannot check the command line here: only trust a bare existence check
    if b"tabrl.jobs.worker" not in args:
        return False
    if job_id is None:
        return True
    worker_args = args[args.index(b"tabrl.jobs.worker") + 1 :]
    return job_id.encode() in worker_args


# The factory of all executors lives here, in the module of the local one, and the Ray and Modal
# executors never import this module: what they share with it (`WorkerState`, the `Executor`
# protocol) is in the lower `executor_protocol`. So the lazy imports below point down only, and
# importing `make_executor` still does not import Ray or Modal.
EXECUTORS = ("local", "ray", "modal")


def make_executor(name: str, store: JobStore | None = None, *, cpus_per_job: float = 1.0) -> Executor:
    """The executor called `name`: `local` (worker processes here), `ray` (a Ray cluster:
    `RAY_ADDRESS`, else a Ray instance started on this machine; `cpus_per_job` CPUs each) or `modal`
    (the app `tabrl modal deploy` deployed; `TABRL_MODAL_*` settings). `store` is the server's job
    database, which executors that relay progress (Ray, Modal) write into."""
    if name == "local":
        return LocalProcessExecutor()
    if name == "ray":
        from tabrl.jobs.ray_executor import RayExecutor

        return RayExecutor(store=store, num_cpus=cpus_per_job)
    if name == "modal":
        from tabrl.jobs.modal_executor import make_modal_executor

        return make_modal_executor(store)
    from tabrl.errors import TabRLError

    raise TabRLError(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}")
