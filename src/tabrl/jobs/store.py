"""JobStore: every read and write of jobs and events (safe across processes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tabrl.errors import NotFoundError, TabRLError
from tabrl.jobs.db import get_engine
from tabrl.jobs.models import TERMINAL, Job, JobEvent, status_event, utcnow

if TYPE_CHECKING:
    from tabrl.jobs.requests import JobRequest


class JobStateError(TabRLError):
    """An operation that the job's current status does not allow."""

    status_code = 409


def new_id(prefix: str) -> str:
    """A short unique id such as `job_3f9c1a2b7d`."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class JobStore:
    """Jobs and events in the database at `engine` (default: `DATABASE_URL` / SQLite)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose objects stay readable after commit."""
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    # --- create / read ---------------------------------------------------------------

    def create(
        self,
        *,
        kind: str,
        scene_id: str,
        request: JobRequest | Mapping[str, Any],
        name: str = "",
        batch_id: str | None = None,
        estimate_s: float | None = None,
    ) -> Job:
        """Queue a new job. Its request is stored as its model's JSON (`tabrl.jobs.requests`; a mapping
        is validated by the model of `kind` first, JobRequestError otherwise)."""
        from tabrl.jobs.requests import request_row

        job = Job(
            id=new_id("job"),
            kind=kind,
            scene_id=scene_id,
            request=request_row(kind, request),
            name=name,
            batch_id=batch_id,
            estimate_s=estimate_s,
        )
        with self.session() as s:
            s.add(job)
            s.add(JobEvent(job_id=job.id, type="status", payload=status_event("queued")))
            s.commit()
        return job

    def get(self, job_id: str) -> Job:
        """The job `job_id`, or NotFoundError."""
        with self.session() as s:
            job = s.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r}; list jobs with GET /api/training")
        return job

    def list(self, *, batch_id: str | None = None, kind: str | None = None, limit: int = 200) -> list[Job]:
        """Newest first."""
        with self.session() as s:
            q = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
            if batch_id is not None:
                q = q.where(Job.batch_id == batch_id)
            if kind is not None:
                q = q.where(Job.kind == kind)
            return list(s.exec(q))

    def by_status(self, *statuses: str) -> list[Job]:
        """Jobs in any of `statuses`, oldest first (queue order)."""
        with self.session() as s:
            q = select(Job).where(col(Job.status).in_(statuses)).order_by(col(Job.created_at))
            return list(s.exec(q))

    # --- transitions -------------------------------------------------------------------

    def _update(self, job_id: str, **fields: Any) -> Job:
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"no job {job_id!r}")
            for key, value in fields.items():
                setattr(job, key, value)
            s.add(job)
            s.commit()
            return job

    def mark_running(self, job_id: str, *, ref: str | None, pid: int | None = None) -> Job:
        """The executor started the job; `ref` is its handle on the worker (opaque here)."""
        job = self.get(job_id)
        job = self._update(
            job_id,
            status="running",
            started_at=job.started_at or utcnow(),
            heartbeat_at=utcnow(),
            worker_pid=pid,
            worker_ref=ref,
            attempts=job.attempts + 1,
        )
        self.add_event(job_id, "status", status_event("running"))
        return job

    def heartbeat(self, job_id: str) -> bool:
        """Record that the worker is alive; returns whether cancel was requested."""
        job = self._update(job_id, heartbeat_at=utcnow())
        return job.cancel_requested

    def set_progress(self, job_id: str, progress: dict[str, Any]) -> bool:
        """Store the latest progress and log it; returns whether cancel was requested."""
        job = self._update(job_id, progress=progress, heartbeat_at=utcnow())
        self.add_event(job_id, "progress", progress)
        return job.cancel_requested

    def finish(
        self, job_id: str, status: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> Job:
        """Terminal (or interrupted) state, with the job's result or failure reason."""
        current = self.get(job_id)
        job = self._update(
            job_id,
            status=status,
            finished_at=utcnow() if status in TERMINAL else None,
            result=result if result is not None else current.result,
            error=error,
            worker_pid=None,
        )
        payload = status_event(status)
        if error:
            payload["error"] = error
        self.add_event(job_id, "status", payload)
        return job

    def update_result(self, job_id: str, **result: Any) -> Job:
        """Merge keys into the job's result (e.g. a video made after training)."""
        job = self.get(job_id)
        return self._update(job_id, result={**(job.result or {}), **result})

    def request_cancel(self, job_id: str) -> Job:
        """Cancel now if queued or interrupted; ask the worker to stop if running."""
        job = self.get(job_id)
        if job.status in TERMINAL:
            raise JobStateError(f"job {job_id} already {job.status}; nothing to cancel")
        if job.status in ("queued", "interrupted"):
            return self.finish(job_id, "cancelled", error=None)
        job = self._update(job_id, cancel_requested=True)
        self.add_event(job_id, "cancel_requested", {})
        return job

    def requeue(self, job_id: str, *, resume: bool) -> Job:
        """Put an interrupted (or failed) job back in the queue, resuming from its checkpoint."""
        job = self.get(job_id)
        if job.status not in ("interrupted", "failed"):
            raise JobStateError(
                f"job {job_id} is {job.status}; only interrupted or failed jobs can be requeued"
            )
        request = {**job.request, "resume": resume}
        job = self._update(job_id, status="queued", request=request, cancel_requested=False, error=None)
        self.add_event(job_id, "status", status_event("queued", resume=resume))
        return job

    # --- events ------------------------------------------------------------------------

    def add_event(self, job_id: str, type_: str, payload: dict[str, Any]) -> None:
        """Append one event to the job's log."""
        with self.session() as s:
            s.add(JobEvent(job_id=job_id, type=type_, payload=payload))
            s.commit()

    def events_after(self, job_id: str, after_id: int = 0, types: tuple[str, ...] = ()) -> list[JobEvent]:
        """Events with id > after_id, oldest first."""
        with self.session() as s:
            q = select(JobEvent).where(JobEvent.job_id == job_id, col(JobEvent.id) > after_id)
            if types:
                q = q.where(col(JobEvent.type).in_(types))
            return list(s.exec(q.order_by(col(JobEvent.id))))

    # --- queue estimates -----------------------------------------------------------------

    def queue_info(self, job: Job, max_concurrent: int) -> tuple[int | None, float | None]:
        """(position in queue starting at 1, estimated seconds until it starts) for a queued job."""
        if job.status != "queued":
            return None, None
        queued = self.by_status("queued")
        ahead = [
            j
            for j in queued
            if j.created_at < job.created_at or (j.created_at == job.created_at and j.id < job.id)
        ]
        running = self.by_status("running")
        position = len(ahead) + 1
        free_slots = max_concurrent - len(running)
        if free_slots > len(ahead):
            return position, 0.0
        now = utcnow()
        scale = self.estimate_scale()
        remaining = sorted(_remaining_s(j, now, scale) for j in running)
        # Jobs start as slots free up: a simple list-scheduling estimate.
        slots = remaining + [0.0] * max(0, free_slots)
        for j in ahead:
            slots.sort()
            slots[0] += (j.estimate_s or 60.0) * (scale or 1.0)
        slots.sort()
        return position, round(slots[0], 1) if slots else None

    def estimate_scale(self, last: int = 20) -> float | None:
        """How long jobs really took against their estimate: the median of (run time / `estimate_s`)
        over the last `last` jobs that succeeded at their first start; None before two have.

        Estimates count training; a job also starts a worker, compiles, and renders its video, which
        dominate small jobs (and depend on the executor and the machine): this measured factor makes
        queue estimates follow what this server's jobs actually take."""
        with self.session() as s:
            q = (
                select(Job)
                .where(Job.status == "succeeded", Job.attempts == 1, col(Job.estimate_s) > 0)
                .where(col(Job.started_at).is_not(None), col(Job.finished_at).is_not(None))
                .order_by(col(Job.finished_at).desc())
                .limit(last)
            )
            done = list(s.exec(q))
        ratios = sorted(
            (j.finished_at - j.started_at).total_seconds() / j.estimate_s  # type: ignore[operator]
            for j in done
        )
        if len(ratios) < 2:
            return None
        mid = len(ratios) // 2
        return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2


def _remaining_s(job: Job, now: datetime, scale: float | None = None) -> float:
    """Seconds until running `job` ends: its training ETA, or its estimate less the time it ran; with a
    measured `scale` (`estimate_scale`), at least its scaled estimate less the time it ran."""
    eta = (job.progress or {}).get("eta_s")
    scaled = None
    if job.started_at and job.estimate_s:
        started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=now.tzinfo)
        ran = (now - started).total_seconds()
        scaled = max(0.0, job.estimate_s * (scale or 1.0) - ran)
    if isinstance(eta, (int, float)):
        return max(float(eta), scaled) if scale is not None and scaled is not None else float(eta)
    if scaled is not None:
        return scaled
    return (job.estimate_s or 60.0) * (scale or 1.0)
