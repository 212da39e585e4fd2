"""JobStore: transitions, events, queue estimates, across separate engines (processes)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tabrl.errors import NotFoundError
from tabrl.jobs.db import make_engine
from tabrl.jobs.models import utcnow
from tabrl.jobs.store import JobStateError, JobStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> JobStore:
    if request.param == "sqlite":
        return JobStore(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    from sqlmodel import SQLModel

    # A clean schema per test: drop and recreate the tables.
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    return JobStore(engine)


def _job(store: JobStore, name: str = "a", estimate: float = 100.0):
    return store.create(
        kind="train",
        scene_id="CartpoleBalance",
        request={"scene_id": "CartpoleBalance", "steps": 1000},
        name=name,
        estimate_s=estimate,
    )


def test_lifecycle_and_events(store: JobStore) -> None:
    job = _job(store)
    assert store.get(job.id).status == "queued"
    store.mark_running(job.id, ref="pid:123")
    assert store.set_progress(job.id, {"step": 10, "eval_reward_mean": 1.0}) is False
    store.finish(job.id, "succeeded", result={"model_id": "m1"})
    got = store.get(job.id)
    assert got.status == "succeeded" and got.result == {"model_id": "m1"} and got.finished_at is not None
    assert got.attempts == 1 and got.worker_pid is None
    types = [e.type for e in store.events_after(job.id)]
    assert types == ["status", "status", "progress", "status"]
    first = store.events_after(job.id)[1].id
    assert [e.type for e in store.events_after(job.id, first)] == ["progress", "status"]


def test_a_second_engine_sees_the_same_jobs(store: JobStore) -> None:
    job = _job(store)
    other = JobStore(make_engine(str(store.engine.url.render_as_string(hide_password=False))))
    assert other.get(job.id).name == "a"


def test_cancel_queued_is_immediate_running_is_cooperative(store: JobStore) -> None:
    queued, running = _job(store, "q"), _job(store, "r")
    assert store.request_cancel(queued.id).status == "cancelled"
    store.mark_running(running.id, ref="pid:1")
    job = store.request_cancel(running.id)
    assert job.status == "running" and job.cancel_requested
    assert store.set_progress(running.id, {"step": 1}) is True  # the worker learns it must stop
    store.finish(running.id, "cancelled")
    with pytest.raises(JobStateError, match="already cancelled"):
        store.request_cancel(running.id)


def test_requeue_interrupted_resumes(store: JobStore) -> None:
    job = _job(store)
    store.mark_running(job.id, ref="pid:1")
    store.finish(job.id, "interrupted", error="server stopped")
    again = store.requeue(job.id, resume=True)
    assert again.status == "queued" and again.request["resume"] is True and again.error is None
    # Every status event says whether it is the end: an interrupted job is not (it resumes).
    events = [e.payload for e in store.events_after(job.id, types=("status",))]
    assert [(e["status"], e["terminal"]) for e in events] == [
        ("queued", False), ("running", False), ("interrupted", False), ("queued", False)
    ]  # fmt: skip
    with pytest.raises(JobStateError, match="only interrupted or failed"):
        store.requeue(job.id, resume=True)


def test_a_job_cancelled_while_it_is_being_started_stays_cancelled(store: JobStore) -> None:
    # The scheduler read the queue, the person cancelled, then the executor's start was recorded.
    job = _job(store)
    store.request_cancel(job.id)
    started = store.mark_running(job.id, ref="ray:x")
    assert started.status == "cancelled" and started.cancel_requested  # its worker is told to stop


def test_queue_position_and_estimate(store: JobStore) -> None:
    running = _job(store, "running", estimate=100.0)
    store.mark_running(running.id, ref="pid:1")
    store.set_progress(running.id, {"step": 5, "eta_s": 40.0})
    a, b = _job(store, "a", 100.0), _job(store, "b", 100.0)
    # One slot, busy for 40 s more: a starts in 40 s, b after a. Nothing has ended, so the running
    # job's projection (just started, 40 s left: 0.4x its estimate) says a takes 40 s too: 80 s.
    # The training's ETA counts down from its report, so each read is a little later.
    assert store.queue_info(store.get(a.id), max_concurrent=1) == (1, pytest.approx(40.0, abs=1.0))
    assert store.queue_info(store.get(b.id), max_concurrent=1) == (2, pytest.approx(80.0, abs=1.5))
    # Two slots: a starts now, b when the running job ends.
    assert store.queue_info(store.get(a.id), max_concurrent=2) == (1, 0.0)
    assert store.queue_info(store.get(b.id), max_concurrent=2) == (2, pytest.approx(40.0, abs=1.0))
    assert store.queue_info(store.get(running.id), max_concurrent=1) == (None, None)


def test_stored_progress_notes_when_it_arrived(store: JobStore) -> None:
    job = _job(store, "running", estimate=100.0)
    store.mark_running(job.id, ref="pid:1")
    before = utcnow().timestamp()
    store.set_progress(job.id, {"step": 5, "eta_s": 40.0})
    progress = store.get(job.id).progress
    assert progress["eta_s"] == 40.0 and before - 1 <= progress["reported_at"] <= utcnow().timestamp() + 1
    assert "reported_at" not in store.events_after(job.id, types=("progress",))[-1].payload


def test_queue_estimates_follow_how_long_jobs_really_took(store: JobStore) -> None:
    # Two finished jobs took 3x their estimate (worker start, compiles, video): the queue learns it.
    now = utcnow()
    for _ in range(2):
        done = _job(store, "done", estimate=100.0)
        store.mark_running(done.id, ref="ray:x")
        store.finish(done.id, "succeeded")
        store._update(
            done.id, started_at=now - timedelta(seconds=400), finished_at=now - timedelta(seconds=100)
        )
    assert store.history().scale() == pytest.approx(3.0)
    running = _job(store, "running", estimate=100.0)
    store.mark_running(running.id, ref="ray:y")
    store.set_progress(running.id, {"step": 5, "eta_s": 40.0})  # training's own ETA: 40 s
    a, b = _job(store, "a", 100.0), _job(store, "b", 100.0)
    # The running job needs ~300 s in all (not 40), then a takes ~300 s too.
    _, eta_a = store.queue_info(store.get(a.id), max_concurrent=1)
    _, eta_b = store.queue_info(store.get(b.id), max_concurrent=1)
    assert eta_a == pytest.approx(300, abs=5) and eta_b == pytest.approx(600, abs=5)


def test_before_any_job_ends_the_running_ones_bound_the_estimates(store: JobStore) -> None:
    # A queue submitted at once to a new server: nothing finished yet, but the running job has run
    # 250 s on a 100 s estimate, so jobs here take at least 2.5x their estimate.
    running = _job(store, "running", estimate=100.0)
    store.mark_running(running.id, ref="ray:y")
    store._update(running.id, started_at=utcnow() - timedelta(seconds=250))
    assert store.history().scale() is None  # without the running jobs: nothing known
    assert store.history().scale([store.get(running.id)], utcnow()) == pytest.approx(2.5, abs=0.05)
    a, b = _job(store, "a", 100.0), _job(store, "b", 100.0)
    # The running job has ~0 s left of its 250 s (it ran that long already); a then b take ~250 s.
    assert store.queue_infos(max_concurrent=1) == {
        a.id: (1, pytest.approx(0.0, abs=2)), b.id: (2, pytest.approx(250, abs=5))
    }  # fmt: skip
    # A job that only started is no evidence: the estimates stand.
    store._update(running.id, started_at=utcnow() - timedelta(seconds=10))
    assert store.history().scale([store.get(running.id)], utcnow()) is None


def test_the_slot_handover_gap_is_measured_and_counted(store: JobStore) -> None:
    # Three jobs queued at once on one slot: each started 4 s after the one before it ended.
    t0 = utcnow() - timedelta(seconds=200)
    jobs = [_job(store, f"j{i}", estimate=10.0) for i in range(3)]
    for i, job in enumerate(jobs):
        store.mark_running(job.id, ref="x")
        store.finish(job.id, "succeeded")
        start = t0 + timedelta(seconds=4 + i * 14)
        store._update(job.id, created_at=t0, started_at=start, finished_at=start + timedelta(seconds=10))
    assert store.dispatch_gap_s() == pytest.approx(4.0)
    a, b = _job(store, "a", 10.0), _job(store, "b", 10.0)
    running = _job(store, "running", estimate=10.0)
    store.mark_running(running.id, ref="x")
    store.set_progress(running.id, {"step": 5, "eta_s": 6.0})
    # One slot: a starts when the running job ends (its 10 s estimate: jobs here took 1x theirs, more
    # than its training ETA of 6 s) and the slot is handed over (4 s); b 10 + 4 s after a.
    # (The running job's clock moves on between its start and the reads: a loaded machine, a server
    # database, take a few tenths of a second.)
    assert store.queue_infos(max_concurrent=1) == {
        a.id: (1, pytest.approx(14.0, abs=1.0)), b.id: (2, pytest.approx(28.0, abs=1.0))
    }  # fmt: skip


def test_queue_infos_of_the_whole_queue_match_each_jobs_own(store: JobStore) -> None:
    running = _job(store, "running", estimate=50.0)
    store.mark_running(running.id, ref="pid:1")
    queued = [_job(store, f"q{i}", 10.0 * (i + 1)) for i in range(5)]
    whole = store.queue_infos(max_concurrent=2)
    assert [whole[j.id][0] for j in queued] == [1, 2, 3, 4, 5]
    for j in queued:
        # Each call reads the clock for the running job's remaining time: a loaded machine moves it on
        # by more than the 0.1 s the figures are rounded to between two calls.
        position, start = store.queue_info(store.get(j.id), max_concurrent=2)
        assert position == whole[j.id][0] and start == pytest.approx(whole[j.id][1], abs=2.0)
    starts = [whole[j.id][1] for j in queued]
    assert starts == sorted(starts) and starts[0] == 0.0


def test_unknown_job(store: JobStore) -> None:
    with pytest.raises(NotFoundError, match="GET /api/training"):
        store.get("job_nope")


def test_timestamps_are_utc(store: JobStore) -> None:
    job = _job(store)
    assert abs(store.get(job.id).created_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)) < timedelta(
        seconds=5
    )


def test_default_engine_follows_tabrl_home(tmp_path, monkeypatch) -> None:
    from tabrl.jobs.db import get_engine

    monkeypatch.setenv("TABRL_HOME", str(tmp_path / "a"))
    a = get_engine()
    monkeypatch.setenv("TABRL_HOME", str(tmp_path / "b"))
    b = get_engine()
    assert a is not b and str(tmp_path / "b") in str(b.url)
    assert get_engine() is b
