"""The Modal executor, everything up to the network.

Modal's servers are NOT used here (no network, no token). What runs for real:

- the Modal SDK building the app offline: its image (from this checkout's pyproject.toml and uv.lock,
  `uv sync --locked`), functions (GPU type, timeout, Volume) are read back from the SDK's objects;
- the status mapping, on the SDK's own exception classes;
- the job function's body (`run_payload`), on real jobs (a render, a CartpoleBalance training), in its
  own process, through the same payload, bundles, relay and executor code as on Modal. `LocalModal`
  stands in for Modal's servers: a folder for the Queue, Dict and Volume, a subprocess for the call.

What only runs against Modal itself: `SdkModalClient`, `ModalContainerIO`, `modal deploy`, the image
build, GPU scheduling, Modal's preemption and retries.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

modal = pytest.importorskip("modal")
import modal.exception as mex  # noqa: E402
from modal._utils.async_utils import synchronizer  # noqa: E402

from tabrl.jobs import bundles  # noqa: E402
from tabrl.jobs.modal_app import (  # noqa: E402
    CPU_FUNCTION,
    GPU_FUNCTION,
    VOLUME_MOUNT,
    ModalConfig,
    build_app,
    project_dir,
)
from tabrl.jobs.modal_executor import (  # noqa: E402
    CallState,
    LocalModal,
    ModalExecutor,
    _ship_files,
    call_state,
)
from tabrl.jobs.relay import RelayRecorder  # noqa: E402
from tabrl.jobs.scheduler import Scheduler  # noqa: E402
from tabrl.jobs.store import JobStore  # noqa: E402

from .scheduling import drive  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def store(tmp_path, monkeypatch) -> JobStore:
    monkeypatch.setenv("TABRL_HOME", str(tmp_path / "server"))
    from tabrl.jobs.db import make_engine

    return JobStore(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))


@pytest.fixture
def local_modal(tmp_path) -> LocalModal:
    return LocalModal(tmp_path / "modal")


# --- the app's spec, from the real SDK (offline) ----------------------------------------------


def _functions(app: Any) -> dict[str, Any]:
    # App.registered_functions, without its deprecation warning (modal 1.6 internals).
    functions = synchronizer._translate_in(app)._local_state.functions
    return {name: synchronizer._translate_in(fn) for name, fn in functions.items()}


def _layers(image: Any) -> tuple[list[str], dict[str, str], list[Any]]:
    """(Dockerfile commands, build context files, python-source mounts) of a Modal image, walked from
    the SDK's lazy image objects (internals of modal 1.6: this fails loudly if they change)."""
    commands: list[str] = []
    context: dict[str, str] = {}
    mounts: list[Any] = []
    stack = [image]
    while stack:
        img = stack.pop()
        fn = img._load
        cells = dict(
            zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ()), strict=True)
        )
        if "dockerfile_function" in cells and cells["dockerfile_function"] is not None:
            spec = cells["dockerfile_function"]("2025.06")
            commands[:0] = spec.commands
            context.update(spec.context_files)
        if "mount" in cells:
            mounts.append(cells["mount"])
        if "base_image" in cells:
            stack.append(cells["base_image"])
        stack.extend((cells.get("base_images") or {}).values())
    return commands, context, mounts


def _closure_value(fn: Any, name: str) -> Any:
    """A value `modal.App.function` captured for building the function's definition at deploy time."""
    cells = dict(
        zip(fn._load.__code__.co_freevars, (c.cell_contents for c in fn._load.__closure__), strict=True)
    )
    return cells[name]


def test_app_image_is_built_from_the_projects_lock_with_locked(monkeypatch) -> None:
    monkeypatch.delenv("TABRL_MODAL_GPU", raising=False)
    app = build_app(ModalConfig.from_env())
    fns = _functions(app)
    assert set(fns) == {GPU_FUNCTION, CPU_FUNCTION}
    for name, fn in fns.items():
        commands, context, _ = _layers(fn._spec.image)
        sync = [c for c in commands if "uv sync" in c]
        assert len(sync) == 1, commands
        assert "--locked" in sync[0] and "--frozen" not in sync[0], sync
        assert ("--extra=cuda" in sync[0]) == (name == GPU_FUNCTION), sync
        # The build context is this checkout's own lock and pyproject (what `uv sync --locked` checks).
        assert context["/.uv.lock"] == str(project_dir() / "uv.lock")
        assert context["/.pyproject.toml"] == str(project_dir() / "pyproject.toml")
        python = f"python:{sys.version_info.major}.{sys.version_info.minor}"
        assert any(python in c and c.startswith("FROM") for c in commands), commands
        assert any("apt-get install" in c and "libegl1" in c for c in commands), commands
        assert any("MUJOCO_GL" in c for c in commands), commands
        # TabRL's own source (with its non-Python assets) is added after the dependencies.
        assert fn._spec.image._added_python_source_set == {"tabrl"}


def test_app_functions_gpu_timeout_and_volume_follow_the_config(monkeypatch) -> None:
    monkeypatch.delenv("TABRL_MODAL_GPU", raising=False)
    fns = _functions(build_app(ModalConfig.from_env()))
    gpu, cpu = fns[GPU_FUNCTION]._spec, fns[CPU_FUNCTION]._spec
    assert gpu.gpus == "H100" and cpu.gpus is None
    for spec in (gpu, cpu):
        assert set(spec.volumes) == {VOLUME_MOUNT}
        assert "tabrl-jobs" in repr(spec.volumes[VOLUME_MOUNT])
        assert spec.cpu == 4.0 and spec.memory == 16 * 1024
    assert _closure_value(fns[GPU_FUNCTION], "timeout") == 24 * 3600

    monkeypatch.setenv("TABRL_MODAL_GPU", "A100-80GB")
    monkeypatch.setenv("TABRL_MODAL_TIMEOUT_S", "7200")
    monkeypatch.setenv("TABRL_MODAL_VOLUME", "my-files")
    monkeypatch.setenv("TABRL_MODAL_APP", "tabrl-staging")
    app = build_app(ModalConfig.from_env())
    fns = _functions(app)
    assert app.name == "tabrl-staging"
    assert fns[GPU_FUNCTION]._spec.gpus == "A100-80GB"
    assert _closure_value(fns[GPU_FUNCTION], "timeout") == 7200
    assert "my-files" in repr(fns[CPU_FUNCTION]._spec.volumes[VOLUME_MOUNT])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TABRL_MODAL_TIMEOUT_S": "90000"}, "at most 86400"),
        ({"TABRL_MODAL_TIMEOUT_S": "soon"}, "not a number"),
        ({"TABRL_MODAL_CPU": "-1"}, "must be positive"),
    ],
)
def test_bad_settings_say_what_to_fix(env: dict[str, str], message: str) -> None:
    from tabrl.errors import TabRLError

    with pytest.raises(TabRLError, match=message):
        ModalConfig.from_env(env)


def test_app_module_imports_offline_and_image_needs_a_lock(tmp_path) -> None:
    import tabrl.jobs.modal_app as module
    from tabrl.errors import TabRLError

    assert module.app is not None and module.app.name == "tabrl"
    with pytest.raises(TabRLError, match=r"uv\.lock not found"):
        module.build_image(tmp_path)


# --- status mapping (the SDK's exceptions) ------------------------------------------------------


def _raising(exc: BaseException):
    def get() -> Any:
        raise exc

    return get


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (mex.TimeoutError(), "running", None),
        (mex.InternalFailure("worker preempted"), "lost", "preempted"),
        (mex.FunctionTimeoutError("Function timed out"), "lost", "TABRL_MODAL_TIMEOUT_S"),
        (mex.OutputExpiredError(), "lost", "expired"),
        (mex.ConnectionError("Could not connect"), "running", "not reachable"),
        (OSError("network down"), "running", "not reachable"),
        (mex.RemoteError("image build failed"), "failed", "image build failed"),
        (mex.ExecutionError("boom"), "failed", "boom"),
        (ValueError("a bug in the job function"), "failed", "ValueError"),
        (mex.InputCancellation("cancelled"), "failed", "cancelled"),
    ],
)
def test_call_outcomes_map_to_worker_states(exc: BaseException, kind: str, words: str | None) -> None:
    state = call_state(_raising(exc))
    assert state.kind == kind
    if words:
        assert words in (state.reason or ""), state


def test_finished_and_restarted_calls() -> None:
    out = {"status": "succeeded", "result": {"a": 1}, "error": None}
    assert call_state(lambda: out) == CallState("done", value=out)
    restarted = call_state(lambda: {"status": "lost", "error": "the Modal container was restarted"})
    assert restarted.kind == "lost" and "restarted" in restarted.reason


# --- payload, bundles, relay through the stand-in ----------------------------------------------


def test_relayed_files_travel_through_the_volume_and_land_whole(store, local_modal, tmp_path) -> None:
    job = store.create(
        kind="train", scene_id="CartpoleBalance", request={"scene_id": "CartpoleBalance", "steps": 1000}
    )
    node = tmp_path / "container-home"
    ckpt = node / "runs" / job.id / "checkpoints" / f"step_{3:012d}"
    ckpt.mkdir(parents=True)
    (ckpt / "manifest.json").write_text("{}")
    (node / "runs" / job.id / "config.yaml").write_text("seed: 0")
    recorder = RelayRecorder(job.model_dump(mode="json"), node, threading.Event())
    recorder.set_progress(job.id, {"step": 3, "checkpoint": str(ckpt)})
    ops = _ship_files(local_modal, job.id, recorder.drain(), [0])
    assert [op[0] for op in ops] == ["file", "keep", "progress"]
    local_modal.push(job.id, ops)
    executor = ModalExecutor(store=store, client=local_modal)
    executor._apply(job.id, local_modal.drain(job.id))
    server = Path(store.get(job.id).progress["checkpoint"])
    assert server == tmp_path / "server" / "runs" / job.id / "checkpoints" / f"step_{3:012d}"
    assert (server / "manifest.json").is_file()
    assert (server.parents[1] / "config.yaml").read_text() == "seed: 0"


def test_failing_jobs_report_their_errors_and_where_they_ran(store, local_modal) -> None:
    scheduler = Scheduler(store, ModalExecutor(store=store, client=local_modal), max_concurrent=2)
    bad = store.create(kind="train", scene_id="NoSuchScene", request={"scene_id": "NoSuchScene", "steps": 10})
    odd = store.create(kind="mystery", scene_id="", request={})
    done = drive(scheduler, store, bad.id)
    assert done["status"] == "failed" and "NoSuchScene" in done["error"], done
    assert done["worker_ref"].startswith("modal:") and done["worker_pid"] is None
    where = [e.payload for e in store.events_after(bad.id) if e.type == "worker"]
    assert where and where[0]["executor"] == "modal"
    done = drive(scheduler, store, odd.id)
    assert done["status"] == "failed" and "unknown job kind 'mystery'" in done["error"]
    # Training goes to the GPU function, anything else to the CPU one.
    assert [f for f, _ in local_modal.spawned] == [GPU_FUNCTION, CPU_FUNCTION]
    # Nothing of a finished job is left in the Queue, Dict or Volume.
    assert not any((local_modal.root / "queue").iterdir()) and not any(
        (local_modal.root / "volume").iterdir()
    )


def test_gpu_routing() -> None:
    from tabrl.jobs.models import Job

    def job(kind: str, **request: Any) -> Job:
        return Job(id="j", kind=kind, scene_id="CartpoleBalance", request=request)

    assert ModalExecutor.wants_gpu(job("train"))
    assert not ModalExecutor.wants_gpu(job("train", overrides={"backend": "mujoco"}))
    assert not ModalExecutor.wants_gpu(job("render", model_id="m"))
    assert ModalExecutor.wants_gpu(job("render", model_id="m", num_gpus=1))


def test_render_job_through_the_api_on_the_modal_executor(tmp_path, monkeypatch) -> None:
    """`executor=modal` end to end, Modal's servers replaced by `LocalModal`: a real render job whose
    model travels to the call in the payload and whose video comes back through the Volume."""
    from fastapi.testclient import TestClient

    from tabrl.jobs import modal_executor, tasks
    from tabrl.server import create_app
    from tabrl.server.settings import get_settings

    spawned: list[tuple[str, str]] = []

    class Standin(LocalModal):
        def __init__(self) -> None:
            super().__init__(tmp_path / "modal")
            self.spawned = spawned

        def check(self) -> None:
            pass

    monkeypatch.setattr(modal_executor, "check_reachable", lambda: None)
    monkeypatch.setattr(modal_executor, "SdkModalClient", Standin)
    monkeypatch.setenv("TABRL_HOME", str(tmp_path / "server"))
    base = Path(tasks.__file__).resolve().parents[1] / "assets" / "base_policies" / "cartpole-balance"
    shutil.copytree(base, tmp_path / "server" / "policies" / "cart1")
    app = create_app(get_settings(executor="modal", allowed_hosts=["testserver"]))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        job = client.post("/api/training/render", json={"model_id": "cart1", "seconds": 1.0})
        assert job.status_code == 201, job.text
        job_id = job.json()["id"]
        deadline = time.monotonic() + 180
        while (done := client.get(f"/api/training/{job_id}/status").json())["status"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, done
            time.sleep(0.3)
        assert done["status"] == "succeeded", done["error"]
        video = client.get(done["video_url"])
        assert video.status_code == 200 and len(video.content) > 1000
    assert [f for f, _ in spawned] == [CPU_FUNCTION]
    assert not any((tmp_path / "modal" / "volume").iterdir())  # read back, then deleted


def test_a_restarted_container_reports_lost_instead_of_starting_over(store, local_modal) -> None:
    from tabrl.jobs.modal_executor import run_payload

    job = store.create(kind="mystery", scene_id="", request={})
    payload = {
        "job": job.model_dump(mode="json"),
        "inputs": bundles.pack(Path("/nonexistent"), []),
        "attempt": "a1",
    }
    assert run_payload(payload, local_modal)["status"] == "failed"  # the first start runs the job
    again = run_payload(payload, local_modal)  # Modal restarting the same input (preemption)
    assert call_state(lambda: again).kind == "lost"
    assert run_payload({**payload, "attempt": "a2"}, local_modal)["status"] == "failed"  # a new attempt runs


def test_a_preempted_container_ships_its_files_and_reports_lost(store, local_modal, monkeypatch) -> None:
    """Modal interrupts a container it preempts (SIGINT): the task stops at a safe point, what it wrote
    is shipped, and the outcome says lost (the job resumes from the checkpoint on the server)."""
    import os
    import signal

    from tabrl.jobs import tasks
    from tabrl.jobs.modal_executor import run_payload
    from tabrl.paths import home_dir

    def long_task(ctx) -> dict:
        (home_dir() / "runs" / ctx.job_id).mkdir(parents=True)
        (home_dir() / "runs" / ctx.job_id / "config.yaml").write_text("seed: 0")
        while not ctx.should_stop():
            time.sleep(0.05)
        return {"stopped": True}

    monkeypatch.setitem(tasks.TASKS, "long", long_task)
    monkeypatch.setenv("TABRL_HOME", os.environ["TABRL_HOME"])  # run_payload moves it: restored after
    job = store.create(kind="long", scene_id="", request={})
    payload = {
        "job": job.model_dump(mode="json"),
        "inputs": bundles.pack(Path("/nonexistent"), []),
        "attempt": "a1",
    }
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    out = run_payload(payload, local_modal)
    assert call_state(lambda: out).kind == "lost" and "preempted" in out["error"]
    ops = local_modal.drain(job.id)
    files = [op for op in ops if op[0] == "file"]
    assert files and f"runs/{job.id}" in bundles.units_of(local_modal.read_file(files[-1][1]))


def test_a_push_that_fails_is_sent_again(store, local_modal, monkeypatch) -> None:
    """The Queue unreachable for a moment in the container: nothing the task recorded is dropped."""
    import os

    from tabrl.jobs import modal_executor, tasks
    from tabrl.jobs.modal_executor import run_payload

    def chatty(ctx) -> dict:
        for step in range(6):
            ctx.report({"step": step})
            time.sleep(0.1)
        return {}

    failures = iter([True, True])

    class Flaky(LocalModal):
        def push(self, job_id: str, ops: list) -> None:
            if next(failures, False):
                raise mex.ConnectionError("Could not connect to the Modal server.")
            super().push(job_id, ops)

    monkeypatch.setattr(modal_executor, "PUMP_S", 0.1)
    monkeypatch.setitem(tasks.TASKS, "chatty", chatty)
    monkeypatch.setenv("TABRL_HOME", os.environ["TABRL_HOME"])
    job = store.create(kind="chatty", scene_id="", request={})
    payload = {
        "job": job.model_dump(mode="json"),
        "inputs": bundles.pack(Path("/nonexistent"), []),
        "attempt": "a",
    }
    flaky = Flaky(local_modal.root)
    assert run_payload(payload, flaky)["status"] == "succeeded"
    steps = [op[1]["step"] for op in flaky.drain(job.id) if op[0] == "progress"]
    assert steps == list(range(6))


def test_a_restarted_server_recovers_a_call_of_the_previous_one(store, tmp_path) -> None:
    """The previous server's call ended while no server watched: the next one relays what it sent."""
    first = LocalModal(tmp_path / "modal")
    job = store.create(kind="mystery", scene_id="", request={})
    ref = ModalExecutor(store=store, client=first).start(job.id)
    store.mark_running(job.id, ref=ref)
    call = first.root / "calls" / first.spawned[0][1]
    deadline = time.monotonic() + 60
    while not (call / "result.pkl").exists():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    scheduler = Scheduler(store, ModalExecutor(store=store, client=LocalModal(tmp_path / "modal")))
    scheduler.recover()
    done = store.get(job.id)
    assert done.status == "failed" and "unknown job kind" in done.error
    assert [e.payload["executor"] for e in store.events_after(job.id) if e.type == "worker"] == ["modal"]
    stop = first.root / "dict" / f"stop--{job.id}"
    assert not stop.exists()  # cleaned up with the job


def test_what_a_lost_call_shipped_before_it_went_is_kept(store, tmp_path) -> None:
    class Preempted(LocalModal):
        def spawn(self, function: str, payload: dict[str, Any]) -> str:
            return "fc-gone"

        def state(self, call_id: str) -> CallState:
            return CallState("lost", reason="the Modal container running it was lost (preempted)")

    client = Preempted(tmp_path / "modal")
    executor = ModalExecutor(store=store, client=client)
    job = store.create(
        kind="train", scene_id="CartpoleBalance", request={"scene_id": "CartpoleBalance", "steps": 1000}
    )
    ref = executor.start(job.id)
    client.push(job.id, [("progress", {"step": 7})])
    state = executor.poll(ref)
    assert not state.alive and state.lost and "preempted" in state.reason
    assert store.get(job.id).progress["step"] == 7


class _Unreachable(LocalModal):
    """Modal not answering: every call raises as the SDK does offline."""

    def state(self, call_id: str) -> CallState:
        return call_state(_raising(mex.ConnectionError("Could not connect to the Modal server.")))


def test_modal_unreachable_keeps_the_job_then_gives_it_up_as_lost(store, tmp_path) -> None:
    client = _Unreachable(tmp_path / "modal")
    executor = ModalExecutor(store=store, client=client, unreachable_s=0.5)
    job = store.create(kind="mystery", scene_id="", request={})
    ref = executor.start(job.id)
    assert executor.poll(ref).alive
    time.sleep(0.7)
    state = executor.poll(ref)
    assert not state.alive and state.lost and "not reachable" in state.reason
    client.kill(client.spawned[0][1])


def test_cancel_before_the_container_reports_cancels_the_call(store, tmp_path) -> None:
    class Queued(LocalModal):
        """A call Modal has not started (waiting for a GPU): nothing ever drains."""

        def spawn(self, function: str, payload: dict[str, Any]) -> str:
            self.spawned.append((function, "fc-queued"))
            return "fc-queued"

        def state(self, call_id: str) -> CallState:
            return CallState("running")

        def cancel(self, call_id: str) -> None:
            (self.root / "calls" / "cancelled").touch()

    client = Queued(tmp_path / "modal")
    scheduler = Scheduler(store, ModalExecutor(store=store, client=client))
    job = store.create(
        kind="train", scene_id="CartpoleBalance", request={"scene_id": "CartpoleBalance", "steps": 1000}
    )
    scheduler.tick()
    store.request_cancel(job.id)
    done = drive(scheduler, store, job.id, 10)
    assert done["status"] == "cancelled" and (client.root / "calls" / "cancelled").exists()


# --- CLI (offline) --------------------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "tabrl.cli", *args],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.returncode, out.stdout + out.stderr


#: Modal's API server moved to a closed local port: nothing leaves this machine.
NOWHERE = {"MODAL_SERVER_URL": "https://127.0.0.1:9"}


def test_deploy_fails_fast_naming_what_is_missing(tmp_path) -> None:
    t = time.monotonic()
    rc, out = _cli(["modal", "deploy"], {**NOWHERE, "HOME": str(tmp_path)})
    assert rc == 1 and "no Modal token" in out and "modal token new" in out, out
    rc, out = _cli(
        ["modal", "deploy"],
        {**NOWHERE, "HOME": str(tmp_path), "MODAL_TOKEN_ID": "ak-x", "MODAL_TOKEN_SECRET": "as-x"},
    )
    assert rc == 1 and "cannot reach Modal" in out and "127.0.0.1:9" in out, out
    assert time.monotonic() - t < 60


def test_deploy_dry_run_describes_the_app(tmp_path) -> None:
    rc, out = _cli(
        ["modal", "deploy", "--dry-run", "--json", "--gpu", "L4"], {**NOWHERE, "HOME": str(tmp_path)}
    )
    assert rc == 0, out
    spec = json.loads(out)
    assert spec["functions"][GPU_FUNCTION]["gpu"] == "L4" and spec["functions"][CPU_FUNCTION]["gpu"] is None
    assert "uv sync --locked" in spec["image"] and spec["volume"] == "tabrl-jobs"


def test_serve_with_the_modal_executor_fails_fast_offline(tmp_path) -> None:
    rc, out = _cli(
        ["serve", "--executor", "modal", "--no-build-web", "--port", "1"],
        {**NOWHERE, "HOME": str(tmp_path), "TABRL_HOME": str(tmp_path / "home")},
    )
    assert rc == 1 and "no Modal token" in out, out


# --- a real training job through the stand-in (heavy) ----------------------------------------------

SMALL = {"num_envs": 64, "batch_size": 64}


@pytest.mark.heavy
def test_training_survives_a_lost_container_and_cancels_keeping_its_checkpoint(
    store, local_modal, tmp_path
) -> None:
    executor = ModalExecutor(store=store, client=local_modal)
    scheduler = Scheduler(store, executor, max_concurrent=1)
    body = {"scene_id": "CartpoleBalance", "steps": 5_000_000, "overrides": {**SMALL, "num_evals": 500}}
    job = store.create(kind="train", scene_id="CartpoleBalance", request=body)
    # Train until the first checkpoint reaches the server, then lose the container.
    deadline = time.monotonic() + 200
    while not (store.get(job.id).progress or {}).get("checkpoint"):
        assert time.monotonic() < deadline, store.get(job.id)
        scheduler.tick()
        time.sleep(0.2)
    first = store.get(job.id).progress
    assert Path(first["checkpoint"]).is_dir() and str(tmp_path / "server") in first["checkpoint"]
    assert first["step"] < 5_000_000, first  # lost mid-training
    local_modal.kill(local_modal.spawned[0][1])
    # Lost -> interrupted -> requeued -> a second call resumes from the server's checkpoint.
    deadline = time.monotonic() + 200
    while True:
        scheduler.tick()
        now = store.get(job.id)
        if now.attempts == 2 and (now.progress or {}).get("step", 0) > first["step"]:
            break
        assert now.status in ("running", "queued", "interrupted") and time.monotonic() < deadline, now
        time.sleep(0.2)
    statuses = [e.payload.get("status") for e in store.events_after(job.id) if e.type == "status"]
    assert "interrupted" in statuses, statuses
    assert len(local_modal.spawned) == 2
    # Cancel: a stop request the container reads; it stops at a safe point and keeps its policy.
    store.request_cancel(job.id)
    done = drive(scheduler, store, job.id, 120)
    assert done["status"] == "cancelled", done
    assert not (local_modal.root / "calls" / local_modal.spawned[1][1] / "cancelled").exists()
    model = tmp_path / "server" / "policies" / done["result"]["model_id"]
    assert (model / "manifest.json").is_file()
    assert list((tmp_path / "server" / "runs" / job.id / "checkpoints").iterdir())
