"""The Modal executor: each job runs as one call of a deployed Modal function (`TABRL_EXECUTOR=modal`).

It uses the seams the Ray executor uses (`tabrl.jobs.relay`, `tabrl.jobs.bundles`, `WorkerState`):

- **Start** spawns the app's job function (`tabrl.jobs.modal_app`: `run_job` on a GPU for training
  on MJX, `run_job_cpu` otherwise) with a payload: the job as the server has it and a bundle of its
  input files (a resumed run's checkpoints, the policy it fine-tunes or renders).
- **Progress** is relayed. In the container the task runs with a `RelayRecorder`; a pump thread
  pushes what it records to a Modal Queue (one partition per job), file bundles written to a Modal
  Volume first (a Queue item holds at most 1 MiB). Each `poll` asks for the call's outcome without
  waiting (`FunctionCall.get(timeout=0)`), then drains the job's partition and writes it into the
  server's database and TabRL home (`relay.apply_ops`), so events, the live UI and the status
  route work as with local workers. The container flushes everything before it returns, so the
  drain after a finished call holds all of it.
- **Cancel** (the job's database flag) and **interrupt** (the server stopping) put a stop request
  in a Modal Dict; the container reads it every second and the task stops at its next safe point,
  keeping its last checkpoint. `stop(force=True)` cancels the call (`FunctionCall.cancel`).
- **A lost container** (Modal's `InternalFailure`: preemption, a lost worker), a call past its
  timeout, or an expired result, is reported `lost`: the scheduler requeues the job to resume from
  the last checkpoint that reached the server. Modal interrupts a container it preempts (the task
  stops at a safe point and ships what it has) and restarts the input on its own; the restarted
  container sees its start mark in the Dict and returns `lost` at once, so the job resumes from the
  server's checkpoint instead of from scratch.
- **Calls outlive the server** (unlike Ray actors). After a restart `recover` asks the previous
  server's call to stop, relays what it sends until it ends (its checkpoint comes back), and
  cancels it if it does not end in time.

The network boundary is the `ModalClient` protocol (server side) and `ContainerIO` (container
side). `SdkModalClient` and `ModalContainerIO` implement them with the Modal SDK; they only run
against Modal itself. `LocalModal` implements both with a folder and a subprocess per call: it
stands in for Modal's servers in tests and runs the real job function (`run_payload`) through the
same payload, bundles, relay and status mapping.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tabrl.atomic import atomic_write_bytes
from tabrl.errors import TabRLError, UnavailableError
from tabrl.jobs import bundles
from tabrl.jobs.executor_protocol import WorkerState
from tabrl.jobs.models import Job
from tabrl.jobs.relay import HOME_MARK, RelayRecorder, apply_ops, inputs_of, rehome
from tabrl.jobs.store import JobStore
from tabrl.paths import home_dir

log = logging.getLogger("tabrl.jobs")

#: Seconds between two pushes of a container's relayed ops (and stop-flag reads).
PUMP_S = 1.0


# --- status mapping --------------------------------------------------------------------------


@dataclass(frozen=True)
class CallState:
    """A function call's state as the server sees it at one poll."""

    #: "running" (no outcome yet, or Modal not reachable this time), "done", "lost", "failed".
    kind: str
    value: Any = None
    reason: str | None = None


def call_state(get: Any) -> CallState:
    """Map the outcome of `get()` (a `FunctionCall.get(timeout=0)`) to a `CallState`.

    Modal raises `TimeoutError` while the call runs, `InternalFailure` when its container was lost
    (preemption, a dead worker), `FunctionTimeoutError` past the function's timeout,
    `OutputExpiredError` when the result is gone; anything else raised is the call's own failure
    (an image that did not build, a crash outside the task) except network errors, which leave the
    call `running` to be asked again.
    """
    import modal.exception as mex

    try:
        value = get()
    except mex.OutputExpiredError:
        return CallState("lost", reason="the Modal call's result expired before the server read it")
    except mex.FunctionTimeoutError as exc:
        return CallState(
            "lost", reason=f"the Modal call ran past its timeout (TABRL_MODAL_TIMEOUT_S): {_first(exc)}"
        )
    except mex.TimeoutError:
        return CallState("running")
    except mex.InternalFailure as exc:
        return CallState(
            "lost", reason=f"the Modal container running it was lost (preempted or crashed): {_first(exc)}"
        )
    except (mex.ConnectionError, ConnectionError, OSError) as exc:
        return CallState("running", reason=f"Modal not reachable: {_first(exc)}")
    except mex.InputCancellation:
        return CallState("failed", reason="the Modal call was cancelled")
    except Exception as exc:
        return CallState(
            "failed", reason=f"the Modal call failed: {type(exc).__name__}: {_first(exc)}"[:2000]
        )
    if isinstance(value, dict) and value.get("status") == "lost":
        return CallState("lost", reason=str(value.get("error") or "the Modal container was restarted"))
    return CallState("done", value=value)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


# --- the network boundary --------------------------------------------------------------------


class ModalClient(Protocol):
    """What the server asks of Modal (`SdkModalClient`; `LocalModal` stands in for it in tests)."""

    def spawn(self, function: str, payload: dict[str, Any]) -> str:
        """Start `function` of the deployed app on `payload`; the call's id."""
        ...

    def state(self, call_id: str) -> CallState:
        """The call's state, without waiting."""
        ...

    def cancel(self, call_id: str) -> None:
        """Cancel the call (its container is stopped)."""
        ...

    def drain(self, job_id: str) -> list[tuple[Any, ...]]:
        """The ops the job's container pushed since the last drain, oldest first."""
        ...

    def request_stop(self, job_id: str, *, interrupt: bool) -> None:
        """Ask the job's container to stop at its next safe point (`interrupt`: to resume later)."""
        ...

    def read_file(self, path: str) -> bytes:
        """A file the container wrote to the files Volume (path relative to the Volume)."""
        ...

    def cleanup(self, job_id: str) -> None:
        """Forget the job's stop request, queued ops and files."""
        ...


class ContainerIO(Protocol):
    """What a job's container asks of Modal (`ModalContainerIO`; `LocalModal` in tests)."""

    def claim(self, job_id: str, attempt: str) -> bool:
        """Mark attempt `attempt` of the job started; False when it already was (a restart)."""
        ...

    def push(self, job_id: str, ops: list[tuple[Any, ...]]) -> None:
        """Send ops to the server's drain (oldest first)."""
        ...

    def write_file(self, job_id: str, name: str, data: bytes) -> str:
        """Store `data` on the files Volume; the path the server reads it back with."""
        ...

    def stop_requested(self, job_id: str) -> str | None:
        """Whether the server asked the job to stop: "cancel", "interrupt" or None."""
        ...


# --- the container side ----------------------------------------------------------------------


def _ship_files(
    io: ContainerIO, job_id: str, ops: list[tuple[Any, ...]], seq: list[int]
) -> list[tuple[Any, ...]]:
    """`ops` with each file bundle written to the Volume and replaced by `("file", path)`."""
    out = []
    for op in ops:
        if op[0] == "files":
            seq[0] += 1
            out.append(("file", io.write_file(job_id, f"{seq[0]:06d}.zip", op[1])))
        else:
            out.append(op)
    return out


def run_payload(payload: dict[str, Any], io: ContainerIO) -> dict[str, Any]:
    """The job function's body, in a Modal container: unpack the payload into a scratch TabRL home,
    run the job (`worker.execute`), relay its progress and files through `io`; returns the outcome
    (`status`, `result`, `error`; `status` "lost" when the container was preempted or restarted)."""
    from tabrl.jobs.context import JobContext
    from tabrl.jobs.worker import execute

    job = dict(payload["job"])
    job_id, kind = str(job["id"]), str(job["kind"])
    if not io.claim(job_id, str(payload["attempt"])):
        return {
            "status": "lost",
            "error": "the Modal container was restarted (preempted); resuming from a checkpoint",
        }
    home = Path(tempfile.mkdtemp(prefix=f"tabrl-{job_id}-"))
    os.environ["TABRL_HOME"] = str(home)  # one job per container: the task's files land here
    ctx = JobContext(store=None, job_id=job_id, request=dict(job["request"]))  # type: ignore[arg-type]
    recorder = RelayRecorder(job, home, ctx.stop_event)
    ctx.store = recorder
    seq = [0]
    #: Ops drained from the recorder and not on the Queue yet (a push that failed is tried again).
    pending: list[tuple[Any, ...]] = []
    done = threading.Event()
    preempted = threading.Event()

    def on_interrupt(*_: object) -> None:
        # Modal preempting the container (it then restarts the input): stop at the next safe point so
        # the last checkpoint is shipped within the grace period; the restart reports the job lost.
        preempted.set()
        ctx.interrupted = True
        ctx.stop_event.set()

    def pump() -> None:
        while not done.wait(PUMP_S):
            try:
                wanted = io.stop_requested(job_id)
                if wanted:
                    ctx.interrupted = ctx.interrupted or wanted == "interrupt"
                    ctx.stop_event.set()
                pending.extend(recorder.drain())
                if pending:
                    io.push(job_id, _ship_files(io, job_id, pending, seq))
                    pending.clear()
            except Exception:  # Modal briefly unreachable: the ops wait for the next push
                log.exception("relaying job %s to the server failed", job_id)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        inputs = bundles.unpack(payload["inputs"], home)
        recorder.mark_shipped(set(inputs))
        recorder.add_event(
            job_id, "worker", {"executor": "modal", "host": socket.gethostname(), "gpu": _gpu_name()}
        )
        thread = threading.Thread(target=pump, name="tabrl-modal-pump", daemon=True)
        thread.start()
        try:
            status, result, error = execute(ctx, kind)
        finally:
            done.set()
            thread.join()
        units = [f"runs/{job_id}", *recorder.unshipped("policies"), *recorder.unshipped("videos")]
        files = bundles.pack(home, [u for u in units if u not in inputs])
        pending.extend([*recorder.drain(), ("files", files)])
        # Everything is on the Queue before the call returns: the server's last drain has it all.
        io.push(job_id, _ship_files(io, job_id, pending, seq))
        if preempted.is_set():
            return {
                "status": "lost",
                "error": "the Modal container was preempted; resuming from a checkpoint",
            }
        return {"status": status, "result": rehome(result, str(home), HOME_MARK), "error": error}
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(home, ignore_errors=True)


def _gpu_name() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


class ModalContainerIO:
    """`ContainerIO` on Modal's Queue, Dict and the mounted Volume. Runs only inside Modal."""

    def __init__(self, queue: Any, control: Any, volume: Any, mount: str) -> None:
        self.queue, self.control, self.volume, self.mount = queue, control, volume, Path(mount)

    @classmethod
    def from_env(cls) -> ModalContainerIO:
        """The storage named by the app's `TABRL_MODAL_*` environment (set by `modal_app`)."""
        import modal

        from tabrl.jobs.modal_config import VOLUME_MOUNT, ModalConfig

        cfg = ModalConfig.from_env()
        env = cfg.environment
        return cls(
            modal.Queue.from_name(cfg.queue_name, create_if_missing=True, environment_name=env),
            modal.Dict.from_name(cfg.dict_name, create_if_missing=True, environment_name=env),
            modal.Volume.from_name(cfg.volume_name, create_if_missing=True, environment_name=env),
            VOLUME_MOUNT,
        )

    def claim(self, job_id: str, attempt: str) -> bool:
        # One container runs an attempt at a time; a second start of it is Modal restarting the input.
        if self.control.get(f"started/{job_id}") == attempt:
            return False
        self.control.put(f"started/{job_id}", attempt)
        return True

    def push(self, job_id: str, ops: list[tuple[Any, ...]]) -> None:
        for i in range(0, len(ops), 100):
            self.queue.put_many(ops[i : i + 100], partition=job_id, timeout=60)

    def write_file(self, job_id: str, name: str, data: bytes) -> str:
        path = self.mount / job_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.volume.commit()  # visible to the server's read before the op that names it is queued
        return f"{job_id}/{name}"

    def stop_requested(self, job_id: str) -> str | None:
        return self.control.get(f"stop/{job_id}")


# --- the server side -------------------------------------------------------------------------


class SdkModalClient:
    """`ModalClient` on the Modal SDK: the deployed app's functions, Queue, Dict and Volume. Needs
    a Modal token (`modal token new`, or MODAL_TOKEN_ID / MODAL_TOKEN_SECRET) and the network; runs
    only against Modal itself."""

    def __init__(self, config: Any = None) -> None:
        import modal

        from tabrl.jobs.modal_config import ModalConfig

        self.config = config or ModalConfig.from_env()
        env = self.config.environment
        self._modal = modal
        self._functions: dict[str, Any] = {}
        self.queue = modal.Queue.from_name(
            self.config.queue_name, create_if_missing=True, environment_name=env
        )
        self.control = modal.Dict.from_name(
            self.config.dict_name, create_if_missing=True, environment_name=env
        )
        self.volume = modal.Volume.from_name(
            self.config.volume_name, create_if_missing=True, environment_name=env
        )

    def check(self) -> None:
        """Fail now, saying what to do, unless the deployed app's job function can be found."""
        try:
            self._function(_function_name(True)).hydrate()
        except Exception as exc:
            raise UnavailableError(
                f"cannot reach the deployed Modal app {self.config.app_name!r} ({type(exc).__name__}: "
                f"{_first(exc)}); check the token (`modal token new`, or MODAL_TOKEN_ID/MODAL_TOKEN_SECRET), "
                "the network, and that `tabrl modal deploy` ran"
            ) from None

    def _function(self, name: str) -> Any:
        if name not in self._functions:
            self._functions[name] = self._modal.Function.from_name(
                self.config.app_name, name, environment_name=self.config.environment
            )
        return self._functions[name]

    def spawn(self, function: str, payload: dict[str, Any]) -> str:
        return self._function(function).spawn(payload).object_id

    def state(self, call_id: str) -> CallState:
        call = self._modal.FunctionCall.from_id(call_id)
        return call_state(lambda: call.get(timeout=0))

    def cancel(self, call_id: str) -> None:
        self._modal.FunctionCall.from_id(call_id).cancel(terminate_containers=True)

    def drain(self, job_id: str) -> list[tuple[Any, ...]]:
        ops: list[tuple[Any, ...]] = []
        while batch := self.queue.get_many(1000, block=False, partition=job_id):
            ops.extend(batch)
        return ops

    def request_stop(self, job_id: str, *, interrupt: bool) -> None:
        self.control.put(f"stop/{job_id}", "interrupt" if interrupt else "cancel")

    def read_file(self, path: str) -> bytes:
        return b"".join(self.volume.read_file(path))

    def cleanup(self, job_id: str) -> None:
        for key in (f"stop/{job_id}", f"started/{job_id}"):
            with contextlib.suppress(Exception):
                self.control.pop(key)
        with contextlib.suppress(Exception):
            self.queue.clear(partition=job_id)
        with contextlib.suppress(Exception):
            self.volume.remove_file(job_id, recursive=True)


def _function_name(gpu: bool) -> str:
    from tabrl.jobs.modal_config import CPU_FUNCTION, GPU_FUNCTION

    return GPU_FUNCTION if gpu else CPU_FUNCTION


# --- the executor ----------------------------------------------------------------------------


@dataclass
class _Handle:
    job_id: str
    call_id: str
    #: The container reported in (any op drained): cancelling now keeps a checkpoint.
    placed: bool = False
    stop_sent: bool = False
    #: Since when Modal has not answered (None: it answers).
    unreachable_since: float | None = None
    #: Ops drained but not applied yet (a file that could not be read this time).
    pending: list[tuple[Any, ...]] = field(default_factory=list)


class ModalExecutor:
    """Runs each job as a call of the deployed Modal app and relays its progress and files into this
    server's store (see the module docstring). `client`: the Modal connection (default: the SDK,
    `TABRL_MODAL_*` settings)."""

    name = "modal"

    def __init__(
        self,
        store: JobStore | None = None,
        *,
        client: ModalClient | None = None,
        unreachable_s: float = 600.0,
        recover_timeout_s: float = 120.0,
    ) -> None:
        self.store = store or JobStore()
        if client is None:
            sdk = SdkModalClient()
            sdk.check()
            client = sdk
        self.client = client
        self.unreachable_s = unreachable_s
        self.recover_timeout_s = recover_timeout_s
        self._handles: dict[str, _Handle] = {}

    # --- Executor ------------------------------------------------------------------------

    def start(self, job_id: str) -> str:
        job = self.store.get(job_id)
        payload = {
            "job": job.model_dump(mode="json"),
            "inputs": bundles.pack(home_dir(), inputs_of(job)),
            "attempt": uuid.uuid4().hex,
        }
        self.client.cleanup(job_id)  # a stop request or files left by an earlier attempt
        call_id = self.client.spawn(_function_name(self.wants_gpu(job)), payload)
        ref = f"modal:{job_id}:{call_id}"
        self._handles[ref] = _Handle(job_id=job_id, call_id=call_id)
        return ref

    def poll(self, ref: str) -> WorkerState:
        handle = self._handles.get(ref)
        if handle is None:
            return WorkerState(alive=False, reason="worker from a previous server run")
        try:
            # The outcome first, then the drain: a finished call pushed everything before returning.
            state = self.client.state(handle.call_id)
            # Drained ops are gone from the Queue: kept here until each is applied. A lost call's too
            # (a preempted container ships its last checkpoint before it goes).
            handle.pending.extend(self.client.drain(handle.job_id))
            while handle.pending:
                handle.placed = True
                self._apply(handle.job_id, handle.pending[:1])
                handle.pending.pop(0)
        except Exception as exc:  # Modal not reachable: ask again next tick
            state = CallState("running", reason=f"Modal not reachable: {_first(exc)}")
        if state.kind == "done":
            return self._end(ref, self._settle(handle, state.value))
        if state.kind == "lost":
            return self._end(ref, WorkerState(alive=False, lost=True, reason=state.reason))
        if state.kind == "failed":
            return self._end(ref, WorkerState(alive=False, exit_code=1, reason=state.reason))
        if state.reason:  # running, but Modal did not answer
            now = time.monotonic()
            handle.unreachable_since = handle.unreachable_since or now
            if now - handle.unreachable_since > self.unreachable_s:
                with contextlib.suppress(Exception):
                    self.client.cancel(handle.call_id)
                why = f"{state.reason}; no answer for {self.unreachable_s:g} s"
                return self._end(ref, WorkerState(alive=False, lost=True, reason=why))
            return WorkerState(alive=True)
        handle.unreachable_since = None
        if self.store.heartbeat(handle.job_id) and not handle.stop_sent:
            if not handle.placed:
                # Not started yet (waiting for a GPU): nothing ran, nothing to keep.
                with contextlib.suppress(Exception):
                    self.client.cancel(handle.call_id)
                self.store.finish(handle.job_id, "cancelled", error=None)
                return self._end(ref, WorkerState(alive=False, exit_code=0))
            self.client.request_stop(handle.job_id, interrupt=False)
            handle.stop_sent = True
        return WorkerState(alive=True)

    def stop(self, ref: str, *, force: bool = False) -> None:
        handle = self._handles.get(ref)
        if handle is None:
            return
        with contextlib.suppress(Exception):
            if force:
                self.client.cancel(handle.call_id)
            else:
                self.client.request_stop(handle.job_id, interrupt=True)
                handle.stop_sent = True

    def recover(self, job_id: str, ref: str | None) -> None:
        """A previous server's call may still run on Modal: ask it to stop, relay what it sends until
        it ends (its last checkpoint comes back), cancel it if it does not end in time."""
        if not ref or not ref.startswith("modal:") or ref.count(":") < 2:
            return
        call_id = ref.split(":", 2)[2]
        self._handles[ref] = _Handle(job_id=job_id, call_id=call_id, placed=True, stop_sent=True)
        with contextlib.suppress(Exception):
            self.client.request_stop(job_id, interrupt=True)
        deadline = time.monotonic() + self.recover_timeout_s
        while time.monotonic() < deadline:
            if not self.poll(ref).alive:
                return
            time.sleep(0.5)
        with contextlib.suppress(Exception):
            self.client.cancel(call_id)
        self._end(ref, WorkerState(alive=False))

    # --- what a job needs ------------------------------------------------------------------

    @staticmethod
    def wants_gpu(job: Job) -> bool:
        """Whether the job runs on the GPU function: `request.num_gpus` when given, else training
        that does not ask for the MuJoCo C backend (on a GPU, `auto` picks MJX). Render jobs don't."""
        request = job.request or {}
        if isinstance(request.get("num_gpus"), (int, float)):
            return request["num_gpus"] > 0
        if job.kind != "train":
            return False
        return (request.get("overrides") or {}).get("backend") != "mujoco"

    # --- relaying --------------------------------------------------------------------------

    def _apply(self, job_id: str, ops: list[tuple[Any, ...]]) -> None:
        ready = [("files", self.client.read_file(op[1])) if op[0] == "file" else op for op in ops]
        apply_ops(self.store, job_id, ready)

    def _settle(self, handle: _Handle, out: dict[str, Any]) -> WorkerState:
        result = rehome(out.get("result"), HOME_MARK, str(home_dir()))
        self.store.finish(handle.job_id, out["status"], result=result, error=out.get("error"))
        return WorkerState(alive=False, exit_code=0 if out["status"] != "failed" else 1)

    def _end(self, ref: str, state: WorkerState) -> WorkerState:
        handle = self._handles.pop(ref, None)
        if handle is not None:
            self.client.cleanup(handle.job_id)
        return state


# --- a stand-in for Modal's servers (tests) ----------------------------------------------------


class LocalModal:
    """Stands in for Modal's servers in tests: NOT Modal. Implements `ModalClient` (the server's side)
    with a folder standing for the Queue, Dict and Volume, and a subprocess per call standing for a
    container, which runs the real job function `run_payload` with this class as its `ContainerIO`.
    What it does not exercise: the Modal SDK's calls (`SdkModalClient`, `ModalContainerIO`), image
    builds, GPU scheduling, Modal's own retries and preemption.

    `kill(call_id)` stands for a lost container (the call then reads as Modal's `InternalFailure`).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for sub in ("queue", "dict", "volume", "calls"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._procs: dict[str, subprocess.Popen] = {}
        self.spawned: list[tuple[str, str]] = []  # (function, call id)

    # --- ModalClient -------------------------------------------------------------------------

    def spawn(self, function: str, payload: dict[str, Any]) -> str:
        call_id = f"fc-{uuid.uuid4().hex[:12]}"
        call = self.root / "calls" / call_id
        call.mkdir()
        (call / "payload.pkl").write_bytes(pickle.dumps(payload))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TABRL_HOME", None)
        with open(call / "log", "wb") as log_file:
            self._procs[call_id] = subprocess.Popen(
                [sys.executable, "-m", "tabrl.jobs.modal_executor", str(self.root), call_id],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.spawned.append((function, call_id))
        return call_id

    def state(self, call_id: str) -> CallState:
        import modal.exception as mex

        def get() -> Any:
            proc = self._procs.get(call_id)
            out = self.root / "calls" / call_id / "result.pkl"
            if out.is_file():
                return pickle.loads(out.read_bytes())
            if proc is not None and proc.poll() is None:
                raise mex.TimeoutError()
            if (self.root / "calls" / call_id / "cancelled").exists():
                raise mex.InputCancellation("cancelled")
            raise mex.InternalFailure("the container exited without a result")

        return call_state(get)

    def cancel(self, call_id: str) -> None:
        (self.root / "calls" / call_id / "cancelled").touch()
        self.kill(call_id)

    def kill(self, call_id: str) -> None:
        """Stands for a lost container: the call's process is killed."""
        proc = self._procs.get(call_id)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def drain(self, job_id: str) -> list[tuple[Any, ...]]:
        part = self.root / "queue" / job_id
        if not part.is_dir():
            return []
        ops: list[tuple[Any, ...]] = []
        for item in sorted(p for p in part.iterdir() if p.suffix == ".pkl"):
            ops.extend(pickle.loads(item.read_bytes()))
            item.unlink()
        return ops

    def request_stop(self, job_id: str, *, interrupt: bool) -> None:
        atomic_write_bytes(
            self.root / "dict" / f"stop--{job_id}", ("interrupt" if interrupt else "cancel").encode()
        )

    def read_file(self, path: str) -> bytes:
        return (self.root / "volume" / bundles.check_unit(path)).read_bytes()

    def cleanup(self, job_id: str) -> None:
        (self.root / "dict" / f"stop--{job_id}").unlink(missing_ok=True)
        (self.root / "dict" / f"started--{job_id}").unlink(missing_ok=True)
        shutil.rmtree(self.root / "queue" / job_id, ignore_errors=True)
        shutil.rmtree(self.root / "volume" / job_id, ignore_errors=True)

    # --- ContainerIO (in the call's process) -------------------------------------------------

    def claim(self, job_id: str, attempt: str) -> bool:
        mark = self.root / "dict" / f"started--{job_id}"
        if mark.is_file() and mark.read_text() == attempt:
            return False
        atomic_write_bytes(mark, attempt.encode())
        return True

    def push(self, job_id: str, ops: list[tuple[Any, ...]]) -> None:
        part = self.root / "queue" / job_id
        part.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(part / f"{time.time_ns():020d}.pkl", pickle.dumps(ops))

    def write_file(self, job_id: str, name: str, data: bytes) -> str:
        path = self.root / "volume" / job_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        return f"{job_id}/{name}"

    def stop_requested(self, job_id: str) -> str | None:
        try:
            return (self.root / "dict" / f"stop--{job_id}").read_text() or None
        except FileNotFoundError:
            return None


def _local_call(root: str, call_id: str) -> int:
    """A `LocalModal` call's process: run the job function on its payload, store its return value."""
    modal_root = LocalModal(Path(root))
    call = modal_root.root / "calls" / call_id
    payload = pickle.loads((call / "payload.pkl").read_bytes())
    out = run_payload(payload, modal_root)
    atomic_write_bytes(call / "result.pkl", pickle.dumps(out))
    return 0


def check_reachable(timeout_s: float = 5.0) -> None:
    """Fail fast, naming what is missing, unless a Modal token is configured and Modal's API server
    accepts a connection (a TCP connect: no request is sent)."""
    try:
        from modal.config import config
    except ImportError:
        raise TabRLError("the Modal executor needs the `modal` package (uv sync --locked)") from None
    if not (config.get("token_id") and config.get("token_secret")):
        raise UnavailableError(
            "no Modal token: run `modal token new` (or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET), "
            "then try again"
        )
    from urllib.parse import urlsplit

    url = str(config.get("server_url")).split(",")[0].strip()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout_s).close()
    except OSError as exc:
        raise UnavailableError(
            f"cannot reach Modal at {url} ({exc}): no network route to Modal from this machine; "
            "run this where Modal is reachable (or set MODAL_SERVER_URL)"
        ) from None


def make_modal_executor(store: JobStore | None = None) -> ModalExecutor:
    """The executor on the deployed app (`TABRL_MODAL_*` settings); UnavailableError, saying what is
    missing, when Modal cannot be reached."""
    check_reachable()
    return ModalExecutor(store=store)


if __name__ == "__main__":
    sys.exit(_local_call(sys.argv[1], sys.argv[2]))
