"""`tabrl teach`'s own logic (the whole loop runs in tests/bench/test_behaviours_slice.py, heavy)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tabrl.authoring.approach import Approach
from tabrl.cli.teach import batch_items

REWARD = 'def compute_reward(s, action):\n    return {"up": s.body_upright(s.base)}\n'
PROGRAM = "def command(t):\n    return (0.5, 0.0, 0.0)\n"


def _approaches() -> list[Approach]:
    return [
        Approach(name="Up", level="from_scratch", reward_code=REWARD, steps=1_500_000),
        Approach(
            name="Tune", level="fine_tune", reward_code=REWARD, steps=2_000_000, base_id="cartpole-balance"
        ),
        Approach(name="Walk", level="command", commands=PROGRAM, base_id="go1-joystick"),
    ]


def test_steps_replace_the_plan_of_trained_approaches_only() -> None:
    # `--steps` once called dataclasses.replace on the pydantic batch items and failed every run.
    items = batch_items(_approaches(), 500_000)
    assert [(i.name, i.level, i.steps) for i in items] == [
        ("Up", "from_scratch", 500_000), ("Tune", "fine_tune", 500_000), ("Walk", "command", None)
    ]  # fmt: skip


def test_without_steps_each_approach_keeps_its_plan() -> None:
    assert [i.steps for i in batch_items(_approaches(), None)] == [1_500_000, 2_000_000, None]


def _store(home: Path):
    from tabrl.jobs.db import make_engine
    from tabrl.jobs.store import JobStore

    return JobStore(make_engine(f"sqlite:///{home / 'tabrl.db'}"))


def _teach_until_training(home: Path) -> tuple[subprocess.Popen, list[str]]:
    """Start `tabrl teach` on CartpoleBalance in `home`; return it and its job ids once all run."""
    env = {**os.environ, "TABRL_HOME": str(home)}
    # Far more steps than the test waits for: the jobs are still training when teach is stopped. A job
    # stops at its next evaluation (where it checkpoints): 200 of them, one every ~1-2 s of training.
    cmd = [sys.executable, "-m", "tabrl.cli", "teach", "--scene", "CartpoleBalance", "balance the pole",
           "--steps", "20000000", "--set", "num_evals=200", "--budget", "minutes", "--n", "2", "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = _store(home)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        jobs = store.list() if (home / "tabrl.db").exists() else []
        # Past the first training evaluation: the epoch is compiled, evaluations come every few seconds.
        if jobs and all(j.status == "running" and (j.progress or {}).get("step", 0) > 0 for j in jobs):
            return proc, [j.id for j in jobs]
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.5)
    proc.kill()
    raise AssertionError("teach's jobs did not all train past their first evaluation within 400 s")


def _workers_gone(home: Path, ids: list[str], within_s: float) -> list[str]:
    """The jobs whose worker process is still alive after `within_s` seconds."""
    from tabrl.jobs.executors import pid_alive

    store = _store(home)
    refs = {i: store.get(i).worker_ref or "" for i in ids}
    pids = {i: int(r.split(":", 1)[1]) for i, r in refs.items() if r.startswith("pid:")}
    assert len(pids) == len(ids), refs
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = [i for i, pid in pids.items() if pid_alive(pid, i)]
        if not alive:
            return []
        time.sleep(0.5)
    for pid in pids.values():  # leave nothing behind whatever the outcome
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


@pytest.mark.heavy
@pytest.mark.timeout(600)
def test_sigterm_stops_teach_and_its_workers(tmp_path: Path) -> None:
    # A `kill` (or a CI timeout) once ended teach at once and left its three workers training.
    proc, ids = _teach_until_training(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert _workers_gone(tmp_path, ids, within_s=5) == []
    store = _store(tmp_path)
    assert {store.get(i).status for i in ids} <= {"cancelled", "interrupted"}


@pytest.mark.heavy
@pytest.mark.timeout(600)
def test_workers_stop_when_teach_is_killed_outright(tmp_path: Path) -> None:
    # SIGKILL leaves teach no time to stop anything: each worker sees its parent gone and stops itself,
    # keeping its checkpoint (ends `interrupted`, resumable).
    proc, ids = _teach_until_training(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert _workers_gone(tmp_path, ids, within_s=120) == []
    store = _store(tmp_path)
    assert {store.get(i).status for i in ids} == {"interrupted"}


def test_a_worker_notices_its_parent_is_gone() -> None:
    from tabrl.jobs.worker import _watch_parent

    gone = threading.Event()
    _watch_parent(os.getppid() + 1_000_000, gone.set, every_s=0.05)  # never this process's parent
    assert gone.wait(5)
    still = threading.Event()
    _watch_parent(os.getppid(), still.set, every_s=0.05)
    assert not still.wait(0.5)
