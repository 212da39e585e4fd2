"""JobStore: every read and write of jobs and events (safe across processes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tabrl.errors import NotFoundError, TabRLError
from tabrl.jobs import queue_eta
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
        """The executor started the job; `ref` is its handle on the worker (opaque here). A job cancelled
        between the scheduler's read of the queue and this start stays cancelled: its worker is asked to
        stop (it was set running over the cancel, and trained on)."""
        job = self.get(job_id)
        if job.status in TERMINAL:
            job = self._update(job_id, cancel_requested=True, worker_pid=pid, worker_ref=ref)
            self.add_event(job_id, "cancel_requested", {})
            return job
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
        """Store the latest progress and log it; returns whether cancel was requested. The stored copy
        notes when it arrived (`reported_at`, this server's clock): its `eta_s` counts from then."""
        now = utcnow()
        job = self._update(job_id, progress={**progress, "reported_at": now.timestamp()}, heartbeat_at=now)
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

    def events_of(self, job_ids: list[str], types: tuple[str, ...] = ()) -> dict[str, list[JobEvent]]:
        """The events of several jobs in one query, per job id, oldest first."""
        if not job_ids:
            return {}
        with self.session() as s:
            q = select(JobEvent).where(col(JobEvent.job_id).in_(job_ids))
            if types:
                q = q.where(col(JobEvent.type).in_(types))
            found = list(s.exec(q.order_by(col(JobEvent.id))))
        out: dict[str, list[JobEvent]] = {job_id: [] for job_id in job_ids}
        for event in found:
            out[event.job_id].append(event)
        return out

    # --- queue estimates -----------------------------------------------------------------

    def queue_info(self, job: Job, max_concurrent: int) -> tuple[int | None, float | None]:
        """(position in queue starting at 1, estimated seconds until it starts) for a queued job."""
        if job.status != "queued":
            return None, None
        return self.queue_infos(max_concurrent).get(job.id, (None, None))

    def queue_infos(self, max_concurrent: int) -> dict[str, tuple[int, float]]:
        """(position from 1, estimated seconds until it starts) of every queued job, computed once for
        the whole queue (`tabrl.jobs.queue_eta.starts`; a job list needs them all)."""
        now = utcnow()  # before the reads: the running jobs' time so far is not overstated
        queued = self.by_status("queued")
        if not queued:
            return {}
        return queue_eta.starts(queued, self.by_status("running"), self.history(), now, max_concurrent)

    def history(self, last: int = 20) -> queue_eta.History:
        """What the last `last` ended jobs say about run times (`tabrl.jobs.queue_eta.History`): their
        run time / estimate ratios (jobs that succeeded at their first start) and the slot handover."""
        with self.session() as s:
            q = (
                select(Job)
                .where(Job.status == "succeeded", Job.attempts == 1, col(Job.estimate_s) > 0)
                .where(col(Job.started_at).is_not(None), col(Job.finished_at).is_not(None))
                .order_by(col(Job.finished_at).desc())
                .limit(last)
            )
            done = list(s.exec(q))
        return queue_eta.History(queue_eta.run_ratios(done), self.dispatch_gap_s(last))

    def dispatch_gap_s(self, last: int = 20) -> float | None:
        """Seconds from a slot freeing to the next waiting job starting: the median, over the last
        `last` jobs that waited for a slot, of (its start - the latest job end before it); None
        before two such jobs."""
        with self.session() as s:
            started = list(
                s.exec(
                    select(Job)
                    .where(col(Job.started_at).is_not(None), Job.attempts == 1)
                    .order_by(col(Job.started_at).desc())
                    .limit(last)
                )
            )
            if len(started) < 2:
                return None
            oldest = min(j.started_at for j in started)  # type: ignore[type-var]
            window = select(Job.finished_at).where(col(Job.finished_at) >= oldest - timedelta(hours=1))
            ends = sorted(t for t in s.exec(window) if t is not None)
        return queue_eta.handover_gap(started, ends)
