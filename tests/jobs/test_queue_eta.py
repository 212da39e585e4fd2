"""Queue start estimates as a pure function of the rows and the clock (`tabrl.jobs.queue_eta`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tabrl.jobs.models import Job
from tabrl.jobs.queue_eta import (
    History,
    handover_gap,
    projected_ratio,
    remaining_s,
    starts,
    training_left_s,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _job(name: str, *, ran: float | None = None, estimate: float = 10.0, **fields) -> Job:
    created = fields.pop("created_at", NOW - timedelta(seconds=1000))
    started = NOW - timedelta(seconds=ran) if ran is not None else fields.pop("started_at", None)
    status = "running" if ran is not None else "queued"
    return Job(id=name, status=status, created_at=created, started_at=started, estimate_s=estimate, **fields)


def test_a_running_job_has_its_scaled_estimate_left_or_its_training_eta() -> None:
    # Jobs here took 2x their estimate: a 10 s job that ran 5 s has 15 s left.
    assert remaining_s(_job("r", ran=5.0), NOW, scale=2.0) == pytest.approx(15.0)
    # Its training says 30 s more: the longer wins (the training's ETA counts no saving, no video).
    assert remaining_s(_job("r", ran=5.0, progress={"eta_s": 30.0}), NOW, scale=2.0) == pytest.approx(30.0)
    # Nothing learnt yet: the training's own ETA is the best there is.
    assert remaining_s(_job("r", ran=5.0, progress={"eta_s": 3.0}), NOW) == pytest.approx(3.0)
    assert remaining_s(_job("r", ran=25.0), NOW, scale=2.0) == 0.0  # overdue: any moment now
    assert History(ratios=(1.0, 3.0, 5.0)).scale() == pytest.approx(3.0)  # the median


def test_a_training_eta_counts_from_when_it_arrived() -> None:
    # Reported 10 s ago with 30 s to go: 20 s left. Without the correction, a report's ETA stood still
    # until the next one, and every estimate behind the job slipped.
    reported = {"eta_s": 30.0, "reported_at": (NOW - timedelta(seconds=10)).timestamp()}
    assert training_left_s(_job("r", ran=20.0, progress=reported), NOW) == pytest.approx(20.0)
    late = {"eta_s": 5.0, "reported_at": (NOW - timedelta(seconds=60)).timestamp()}
    assert training_left_s(_job("r", ran=60.0, progress=late), NOW) == 0.0
    assert training_left_s(_job("r", ran=20.0), NOW) is None
    assert remaining_s(_job("r", ran=20.0, progress=reported), NOW) == pytest.approx(20.0)


def test_starts_follow_list_scheduling_with_the_learnt_times_and_the_handover() -> None:
    history = History(ratios=(2.0, 2.0, 2.0), gap_s=1.0)  # jobs take 2x their 10 s estimate
    running = [_job("r1", ran=5.0), _job("r2", ran=15.0)]
    queued = [_job(f"q{i}", created_at=NOW - timedelta(seconds=100 - i)) for i in range(3)]
    out = starts(queued, running, history, NOW, max_concurrent=2)
    # r2 ends in 5 s, r1 in 15 s (+1 s handover each); q0 takes r2's slot, q1 r1's, q2 q0's.
    assert out == {"q0": (1, 6.0), "q1": (2, 16.0), "q2": (3, 27.0)}
    # A free slot starts the head of the queue at once.
    assert starts(queued[:1], running[:1], history, NOW, max_concurrent=2) == {"q0": (1, 0.0)}


def test_the_handover_is_measured_only_on_jobs_that_waited() -> None:
    t0 = NOW - timedelta(seconds=100)
    ends = [t0 + timedelta(seconds=10), t0 + timedelta(seconds=30)]
    waited = [
        _job("a", created_at=t0, started_at=t0 + timedelta(seconds=13)),
        _job("b", created_at=t0, started_at=t0 + timedelta(seconds=35)),
    ]
    late = _job("c", created_at=t0 + timedelta(seconds=40), started_at=t0 + timedelta(seconds=41))
    assert handover_gap([*waited, late], ends) == pytest.approx(4.0)  # (3 + 5) / 2; c never waited
    assert handover_gap(waited[:1], ends) is None


def test_before_two_jobs_end_the_running_jobs_projections_set_the_scale() -> None:
    # Two 10 s jobs, 6 s and 8 s in, whose trainings say 24 s and 14 s more: heading for 3x and 2.2x.
    a = _job("a", ran=6.0, progress={"eta_s": 24.0, "reported_at": NOW.timestamp()})
    b = _job("b", ran=8.0, progress={"eta_s": 14.0, "reported_at": NOW.timestamp()})
    assert projected_ratio(a, NOW) == pytest.approx(3.0) and projected_ratio(b, NOW) == pytest.approx(2.2)
    assert History().scale([a, b], NOW) == pytest.approx(2.6)  # their median
    # Each running job has at least its scaled estimate left (b: 26 - 8 = 18 s, more than its ETA:
    # the ETA counts training only), and a job waiting behind them is counted at 2.6x its estimate.
    assert starts([_job("q1"), _job("q2")], [a, b], History(), NOW, 2) == {"q1": (1, 18.0), "q2": (2, 24.0)}
    # Before its first ETA a running job says only that it takes at least as long as it has run.
    assert projected_ratio(_job("c", ran=40.0), NOW) is None
    assert History().scale([a, _job("c", ran=40.0)], NOW) == pytest.approx(4.0)
    # Two ended jobs: what they took wins over any projection.
    assert History(ratios=(1.0, 1.2)).scale([a, b], NOW) == pytest.approx(1.1)
