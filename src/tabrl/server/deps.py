"""Dependencies shared by routes: the job store and the scheduler on app.state."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.requests import HTTPConnection

from tabrl.jobs.models import Job
from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore
from tabrl.server.schemas import JobOut
from tabrl.server.views import job_out


def get_store(request: Request) -> JobStore:
    """The app's JobStore."""
    return request.app.state.store


@dataclass(frozen=True)
class Jobs:
    """What job routes need: the store, the scheduler to wake, the concurrency for estimates."""

    store: JobStore
    scheduler: Scheduler | None
    max_concurrent: int

    def out(self, job: Job) -> JobOut:
        """The API view of `job` (queue position and estimate included)."""
        return job_out(job, self.store, self.max_concurrent)

    def submitted(self, job: Job) -> JobOut:
        """Wake the scheduler (a job was queued, cancelled or requeued) and return the job's view."""
        if self.scheduler is not None:
            self.scheduler.wake()
        return self.out(job)


def get_jobs(conn: HTTPConnection) -> Jobs:
    """The app's job store, scheduler and concurrency, for job routes (HTTP and WebSocket)."""
    state = conn.app.state
    return Jobs(state.store, state.scheduler, state.settings.max_concurrent_jobs)
