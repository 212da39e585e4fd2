"""When queued jobs will start: a pure function of the jobs' rows and the clock.

`JobStore.queue_infos` reads the rows and calls `starts`; `bench/ray_queue.py --replay` calls it on a
recorded run to see, without a cluster, how far each estimate was from the real start.

The model (list scheduling): a slot frees when its running job ends; the next job in queue order
takes the earliest free slot after the handover gap, and holds it for its expected run time. What
this server's jobs really take is learnt from the jobs that ended (`History`): estimates
(`tabrl.training.estimates`) count training only, while small jobs spend most of their time
starting a worker, compiling and saving. Before two have ended, the running jobs' own trainings
say it (`projected_ratio`: time run plus training ETA, at this machine's speed and load).
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tabrl.jobs.models import Job

#: A job's estimate when it has none (s).
DEFAULT_ESTIMATE_S = 60.0


@dataclass(frozen=True)
class History:
    """What ended jobs say about run times."""

    #: Run time / estimate of recent jobs that succeeded at their first start, ascending.
    ratios: tuple[float, ...] = ()
    #: Seconds from a slot freeing to the next waiting job starting (the median), if measured.
    gap_s: float | None = None

    def scale(self, running: Sequence[Job] = (), now: datetime | None = None) -> float | None:
        """The typical run time / estimate: the median of `ratios`. Before two jobs have ended (a
        queue submitted at once to a new server), what the `running` jobs say: the median of their
        projected run times (`projected_ratio`: the time run so far plus the training's own ETA,
        which has measured this machine's speed under its present load), and at least the longest
        time one has run; None while nothing says more than the estimates."""
        if len(self.ratios) >= 2:
            return statistics.median(self.ratios)
        if now is None:
            return None
        floor = max((ran_s(j, now) / j.estimate_s for j in running if j.estimate_s), default=0.0)
        projected = [r for j in running if (r := projected_ratio(j, now)) is not None]
        if projected:
            return max(floor, statistics.median([*self.ratios, *projected]))
        return floor if floor > 1.0 else None


def projected_ratio(job: Job, now: datetime) -> float | None:
    """Run time / estimate that a running `job` is heading for: the time it ran plus its training
    ETA (`training_left_s`), over its estimate; None before its training reports an ETA."""
    left = training_left_s(job, now)
    if left is None or not job.estimate_s or job.started_at is None:
        return None
    return (ran_s(job, now) + left) / job.estimate_s


def run_ratios(done: Sequence[Job]) -> tuple[float, ...]:
    """Run time / estimate of ended jobs (those with both times and an estimate), ascending."""
    return tuple(
        sorted(
            (j.finished_at - j.started_at).total_seconds() / j.estimate_s
            for j in done
            if j.started_at and j.finished_at and j.estimate_s
        )
    )


def handover_gap(started: Sequence[Job], ends: Sequence[datetime]) -> float | None:
    """Seconds from a slot freeing to the next waiting job starting: the median, over the `started`
    jobs that waited for a slot, of (its start - the latest job end before it); None before two."""
    ends = sorted(ends)
    gaps = []
    for job in started:
        if job.started_at is None:
            continue
        before = [t for t in ends if t <= job.started_at]
        # Only a job that was waiting when that slot freed measures the handover.
        if before and before[-1] > job.created_at:
            gaps.append((job.started_at - before[-1]).total_seconds())
    return statistics.median(gaps) if len(gaps) >= 2 else None


def ran_s(job: Job, now: datetime) -> float:
    """Seconds `job` has run since it started (0 before it starts)."""
    if job.started_at is None:
        return 0.0
    started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - started).total_seconds())


def training_left_s(job: Job, now: datetime) -> float | None:
    """The training's own ETA from the job's latest progress, less the time since it arrived
    (`JobStore.set_progress` notes when). Measured (bench/README.md): without the correction a
    report's ETA stood still between reports, and the estimates behind that job slipped at every
    poll (a 20 s ETA still read 20 s when the job ended)."""
    progress = job.progress or {}
    eta = progress.get("eta_s")
    if not isinstance(eta, (int, float)):
        return None
    at = progress.get("reported_at")
    age = max(0.0, now.timestamp() - float(at)) if isinstance(at, (int, float)) else 0.0
    return max(0.0, float(eta) - age)


def remaining_s(job: Job, now: datetime, scale: float | None = None) -> float:
    """Seconds until running `job` ends: its training ETA (`training_left_s`), or its estimate less the
    time it ran; with a measured `scale`, at least its scaled estimate less the time it ran."""
    eta = training_left_s(job, now)
    scaled = None
    if job.started_at and job.estimate_s:
        scaled = max(0.0, job.estimate_s * (scale or 1.0) - ran_s(job, now))
    if eta is not None:
        return max(eta, scaled) if scale is not None and scaled is not None else eta
    if scaled is not None:
        return scaled
    return (job.estimate_s or DEFAULT_ESTIMATE_S) * (scale or 1.0)


def starts(
    queued: Sequence[Job],
    running: Sequence[Job],
    history: History,
    now: datetime,
    max_concurrent: int,
) -> dict[str, tuple[int, float]]:
    """(position from 1, estimated seconds until it starts) of every queued job."""
    order = sorted(queued, key=lambda j: (j.created_at, j.id))
    if not order:
        return {}
    scale = history.scale(running, now)
    gap = history.gap_s or 0.0
    slots = [remaining_s(j, now, scale) + gap for j in running]
    slots += [0.0] * max(0, max_concurrent - len(running))
    heapq.heapify(slots)
    out: dict[str, tuple[int, float]] = {}
    for position, job in enumerate(order, start=1):
        start = heapq.heappop(slots) if slots else 0.0
        out[job.id] = (position, round(start, 1))
        heapq.heappush(slots, start + (job.estimate_s or DEFAULT_ESTIMATE_S) * (scale or 1.0) + gap)
    return out


__all__ = [
    "DEFAULT_ESTIMATE_S",
    "History",
    "handover_gap",
    "projected_ratio",
    "ran_s",
    "remaining_s",
    "run_ratios",
    "starts",
    "training_left_s",
]
