"""The Ray executor: each job runs in its own Ray actor on a cluster node (`TABRL_EXECUTOR=ray`).

No shared filesystem and no database access are assumed on the nodes:

- **Progress** is relayed. The task runs with a `RelayRecorder` in place of the job store: every
  progress report, event and result update is queued in the actor. The server's scheduler polls
  each running job (`poll`, every tick) and drains that queue into its own database, so the
  events, the live UI and `GET /api/training/{id}/status` work as with local workers.
- **Files** travel through Ray's object store as zips of TabRL-home-relative units
  (`tabrl.jobs.bundles`): the job's inputs (a resumed run's checkpoints, the policy it fine-tunes
  or renders) go to the actor; each checkpoint is shipped back as soon as it is written, the
  policy when training ends, the video when it is rendered, and the run folder at the end. The
  actor works in a scratch TabRL home on its node, deleted when the job ends.
- **Cancel** (the job's database flag, read at each poll) and **interrupt** (the server stopping)
  call the actor's `stop`: the task stops at its next safe point and keeps its last checkpoint,
  as a local worker does on SIGTERM. `stop(force=True)` kills the actor.
- **A node dying** (or the actor's process crashing) makes Ray raise `RayActorError` & co. on the
  next poll: the job is reported `lost`, the scheduler marks it interrupted and requeues it to
  resume, elsewhere, from the last checkpoint that reached the server.

Actors are not detached: they die with the server's Ray driver, so after a server restart there
is nothing of the previous run's to stop (`recover` is a no-op) and interrupted jobs resume.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import ray.exceptions as rex

from tabrl.jobs import bundles
from tabrl.jobs.executor_protocol import WorkerState
from tabrl.jobs.models import Job
from tabrl.jobs.relay import HOME_MARK, RelayRecorder, apply_ops, inputs_of
from tabrl.jobs.relay import rehome as _rehome
from tabrl.jobs.store import JobStore
from tabrl.paths import home_dir

#: Errors that mean the worker was lost through no fault of the job.
_LOST = (
    rex.RayActorError,
    rex.NodeDiedError,
    rex.WorkerCrashedError,
    rex.ObjectLostError,
    rex.LocalRayletDiedError,
)


class JobRunner:
    """A Ray actor that runs one job in a scratch TabRL home on its node (one process per job)."""

    def __init__(self, job: dict[str, Any]) -> None:
        from tabrl.jobs.context import JobContext

        self.job_id = str(job["id"])
        self.kind = str(job["kind"])
        self.home = Path(tempfile.mkdtemp(prefix=f"tabrl-{self.job_id}-"))
        # Each job has its own actor process: the task's files land in this scratch home.
        os.environ["TABRL_HOME"] = str(self.home)
        self.ctx = JobContext(store=None, job_id=self.job_id, request=dict(job["request"]))  # type: ignore[arg-type]
        self.recorder = RelayRecorder(job, self.home, self.ctx.stop_event)
        self.ctx.store = self.recorder

    def run(self, inputs: bytes) -> dict[str, Any]:
        """Run the job to an outcome; returns it with the files not shipped yet and the last events."""
        from tabrl.jobs.worker import execute

        try:
            bundles.unpack(inputs, self.home)
            inputs_units = set(bundles.units_of(inputs))
            self.recorder.mark_shipped(inputs_units)
            node = ray.get_runtime_context().get_node_id()
            self.recorder.add_event(
                self.job_id, "worker", {"executor": "ray", "node_id": node, "host": socket.gethostname()}
            )
            status, result, error = execute(self.ctx, self.kind)
            units = [f"runs/{self.job_id}", *self.recorder.unshipped("policies")]
            units += self.recorder.unshipped("videos")
            files = bundles.pack(self.home, [u for u in units if u not in inputs_units])
            return {
                "status": status,
                "result": _rehome(result, str(self.home), HOME_MARK),
                "error": error,
                "ops": self.recorder.drain(),
                "files": files,
            }
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def drain(self) -> list[tuple[Any, ...]]:
        """What the task recorded since the last drain."""
        return self.recorder.drain()

    def stop(self, interrupt: bool) -> None:
        """Stop at the next safe point, keeping the last checkpoint: `interrupt` ends the job
        `interrupted` (to resume later), otherwise `cancelled`."""
        self.ctx.interrupted = self.ctx.interrupted or interrupt
        self.ctx.stop_event.set()


@dataclass
class _Handle:
    job_id: str
    actor: Any = None
    run: Any = None
    #: The drain call in flight (None: none).
    drain: Any = None
    #: The actor answered once: it was placed on a node and runs the job.
    placed: bool = False
    stop_sent: bool = False
    #: Set when the job cannot run on this cluster at all (e.g. needs a GPU it lacks).
    refused: str | None = None


class RayExecutor:
    """Runs each job in a Ray actor (`num_cpus`, and a GPU when the job needs one) and relays its
    progress and files into this server's store. `address`: a Ray cluster (default `RAY_ADDRESS`,
    e.g. `auto` for the one `ray start` runs on this machine, or `head:6379`); without one a Ray
    instance is started on this machine. The server must run on a node of the cluster."""

    name = "ray"

    def __init__(
        self,
        store: JobStore | None = None,
        *,
        address: str | None = None,
        num_cpus: float = 1.0,
        drain_timeout_s: float = 10.0,
    ) -> None:
        self.store = store or JobStore()
        self.num_cpus = num_cpus
        self.drain_timeout_s = drain_timeout_s
        self._handles: dict[str, _Handle] = {}
        self._runner = ray.remote(JobRunner)
        if not ray.is_initialized():
            _no_uv_propagation()
            # ray.init makes SIGTERM exit the process at once; the server's own handler (uvicorn's
            # graceful shutdown: running jobs interrupted, keeping their checkpoints) must stay.
            main = threading.current_thread() is threading.main_thread()
            previous = signal.getsignal(signal.SIGTERM) if main else None
            try:
                ray.init(address=address, namespace="tabrl", ignore_reinit_error=True)
            except ConnectionError as exc:
                from tabrl.errors import UnavailableError

                raise UnavailableError(
                    f"cannot reach the Ray cluster at {address or os.environ.get('RAY_ADDRESS')!r} ({exc}); "
                    "start it with `ray start --head` or unset RAY_ADDRESS to run Ray on this machine"
                ) from None
            finally:
                if main and previous is not None:
                    signal.signal(signal.SIGTERM, previous)

    # --- Executor ------------------------------------------------------------------------

    def start(self, job_id: str) -> str:
        job = self.store.get(job_id)
        ref = f"ray:{job_id}:{uuid.uuid4().hex[:6]}"
        handle = _Handle(job_id=job_id)
        self._handles[ref] = handle
        num_gpus = self.gpus_for(job)
        handle.refused = self._unplaceable(num_gpus)
        if handle.refused:
            return ref
        snapshot = job.model_dump(mode="json")
        inputs = bundles.pack(home_dir(), self.inputs_of(job))
        handle.actor = self._runner.options(
            num_cpus=self.num_cpus,
            num_gpus=num_gpus,
            max_concurrency=4,  # run() in one thread; drain() and stop() answered meanwhile
            max_restarts=0,  # a lost job is requeued by the scheduler, resuming from its checkpoint
            name=f"tabrl-{ref}",
        ).remote(snapshot)
        handle.run = handle.actor.run.remote(ray.put(inputs))
        return ref

    def poll(self, ref: str) -> WorkerState:
        handle = self._handles.get(ref)
        if handle is None:
            # A handle of a previous server run: its actor died with that server's driver.
            return WorkerState(alive=False, reason="worker from a previous server run")
        if handle.refused:
            self.store.finish(handle.job_id, "failed", error=handle.refused)
            return self._end(ref, WorkerState(alive=False, reason=handle.refused))
        # Never blocks on a busy or not yet placed actor: one drain is in flight per job, applied on
        # the tick after it is answered; the run's own result comes after the last drain's.
        try:
            if handle.drain is not None and ray.wait([handle.drain], timeout=0)[0]:
                self._apply(handle.job_id, ray.get(handle.drain))
                handle.drain = None
                handle.placed = True
            if ray.wait([handle.run], timeout=0)[0]:
                if handle.drain is not None:
                    self._apply(handle.job_id, ray.get(handle.drain, timeout=self.drain_timeout_s))
                    handle.drain = None
                return self._end(ref, self._settle(handle, ray.get(handle.run)))
            if handle.drain is None:
                handle.drain = handle.actor.drain.remote()
        except rex.GetTimeoutError:
            return WorkerState(alive=True)  # a busy node or network: ask again next tick
        except _LOST as exc:
            return self._end(ref, WorkerState(alive=False, lost=True, reason=_lost_reason(exc)))
        except rex.RayTaskError as exc:
            reason = f"the Ray worker failed: {exc.cause if exc.cause is not None else exc}"
            return self._end(ref, WorkerState(alive=False, exit_code=1, reason=reason[:2000]))
        if self.store.heartbeat(handle.job_id) and not handle.stop_sent:
            if not handle.placed:
                # Still waiting for a free node: nothing ran, nothing to keep.
                self.store.finish(handle.job_id, "cancelled", error=None)
                return self._end(ref, WorkerState(alive=False, exit_code=0))
            handle.actor.stop.remote(False)  # cancel requested through the API
            handle.stop_sent = True
        return WorkerState(alive=True)

    def stop(self, ref: str, *, force: bool = False) -> None:
        handle = self._handles.get(ref)
        if handle is None or handle.actor is None:
            return
        if force:
            ray.kill(handle.actor, no_restart=True)
        else:
            handle.actor.stop.remote(True)
            handle.stop_sent = True

    def recover(self, job_id: str, ref: str | None) -> None:
        # Actors are owned by the server's driver and die with it: nothing of a previous run's is left.
        return None

    # --- what a job needs ------------------------------------------------------------------

    def _unplaceable(self, num_gpus: float) -> str | None:
        """Why no live node of the cluster could ever run a job of `num_gpus` GPUs (None: one can)."""
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        gpus = max((r.get("GPU", 0) for r in nodes), default=0)
        if num_gpus > gpus:
            return (
                f"the job needs {num_gpus:g} GPU(s) and no node of the Ray cluster has that many ({gpus:g}); "
                "add a GPU node or train on the mujoco backend (overrides backend=mujoco)"
            )
        cpus = max((r.get("CPU", 0) for r in nodes), default=0)
        if self.num_cpus > cpus:
            return (
                f"a job takes {self.num_cpus:g} CPU(s) and no node of the Ray cluster has that many ({cpus:g}); "
                "add a bigger node or lower TABRL_RAY_CPUS_PER_JOB"
            )
        return None

    @staticmethod
    def gpus_for(job: Job) -> float:
        """GPUs the job asks for: `request.num_gpus` when given, else one when it trains on MJX
        (the physics that wants a GPU), else none."""
        request = job.request or {}
        if isinstance(request.get("num_gpus"), (int, float)):
            return float(request["num_gpus"])
        backend = (request.get("overrides") or {}).get("backend")
        return 1.0 if backend == "mjx" else 0.0

    @staticmethod
    def inputs_of(job: Job) -> list[str]:
        """Home-relative files the job reads on its node (`tabrl.jobs.relay.inputs_of`)."""
        return inputs_of(job)

    # --- relaying --------------------------------------------------------------------------

    def _apply(self, job_id: str, ops: list[tuple[Any, ...]]) -> None:
        apply_ops(self.store, job_id, ops)

    def _settle(self, handle: _Handle, out: dict[str, Any]) -> WorkerState:
        self._apply(handle.job_id, out["ops"])
        bundles.unpack(out["files"], home_dir())
        result = _rehome(out["result"], HOME_MARK, str(home_dir()))
        self.store.finish(handle.job_id, out["status"], result=result, error=out["error"])
        return WorkerState(alive=False, exit_code=0 if out["status"] != "failed" else 1)

    def _end(self, ref: str, state: WorkerState) -> WorkerState:
        handle = self._handles.pop(ref, None)
        if handle is not None and handle.actor is not None:
            with contextlib.suppress(Exception):  # already gone with its node
                ray.kill(handle.actor, no_restart=True)
        return state


def _no_uv_propagation() -> None:
    """Keep Ray from re-creating a `uv run` server's environment on every worker.

    Under `uv run`, Ray (>= 2.4x) uploads the current folder as each worker's working_dir and starts
    workers with `uv run`, which syncs the project on every node. TabRL's nodes run the TabRL installed
    there instead (see README "Running on a cluster"): that upload would be the server's whole current
    folder, up to Ray's 500 MiB limit. Setting RAY_ENABLE_UV_RUN_RUNTIME_ENV=1 explicitly keeps Ray's
    behaviour.
    """
    if "RAY_ENABLE_UV_RUN_RUNTIME_ENV" in os.environ:
        return
    from ray._private import ray_constants

    ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False


def _lost_reason(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the Ray worker running it was lost (its node died or its process crashed): {first[:300]}"
