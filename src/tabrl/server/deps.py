"""Dependencies shared by routes, as `Annotated` aliases: the job store, the scheduler, the settings and
the live-view caches on app.state; the validated id types of path and query parameters.

A route names what it needs by type (`jobs: JobsDep`, `model_id: ModelId`) instead of repeating
`= Depends(...)` or `Path(pattern=...)` in every signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query
from starlette.requests import HTTPConnection

from tabrl.jobs.models import Job
from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore
from tabrl.server.inference import LivePolicies
from tabrl.server.live import LiveSims
from tabrl.server.schemas import JOB_ID, MODEL_ID, SCENE_ID, JobOut
from tabrl.server.settings import Settings
from tabrl.server.views import job_out, jobs_out


def get_store(conn: HTTPConnection) -> JobStore:
    """The app's JobStore."""
    return conn.app.state.store


def get_app_settings(conn: HTTPConnection) -> Settings:
    """The settings the app was created with."""
    return conn.app.state.settings


def get_live_policies(conn: HTTPConnection) -> LivePolicies:
    """Loaded policies for WebSocket inference."""
    return conn.app.state.live


def get_live_sims(conn: HTTPConnection) -> LiveSims:
    """Idle live-view simulations, kept per policy."""
    return conn.app.state.live_sims


@dataclass(frozen=True)
class Jobs:
    """What job routes need: the store, the scheduler to wake, the concurrency for estimates."""

    store: JobStore
    scheduler: Scheduler | None
    max_concurrent: int

    def out(self, job: Job) -> JobOut:
        """The API view of `job` (queue position and estimate included)."""
        return job_out(job, self.store, self.max_concurrent)

    def outs(self, jobs: list[Job]) -> list[JobOut]:
        """The API views of `jobs` (the queue and their events read once for all)."""
        return jobs_out(jobs, self.store, self.max_concurrent)

    def submitted(self, job: Job) -> JobOut:
        """Wake the scheduler (a job was queued, cancelled or requeued) and return the job's view."""
        if self.scheduler is not None:
            self.scheduler.wake()
        return self.out(job)


def get_jobs(conn: HTTPConnection) -> Jobs:
    """The app's job store, scheduler and concurrency, for job routes (HTTP and WebSocket)."""
    state = conn.app.state
    return Jobs(state.store, state.scheduler, state.settings.max_concurrent_jobs)


StoreDep = Annotated[JobStore, Depends(get_store)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LivePoliciesDep = Annotated[LivePolicies, Depends(get_live_policies)]
LiveSimsDep = Annotated[LiveSims, Depends(get_live_sims)]

# Path parameters: a malformed id is a 422 naming the field (PATTERN_HINTS says what an id looks like).
SceneId = Annotated[str, Path(max_length=105, pattern=SCENE_ID)]
ModelId = Annotated[str, Path(max_length=150, pattern=MODEL_ID)]
JobId = Annotated[str, Path(max_length=40, pattern=JOB_ID)]
BatchId = Annotated[str, Path(max_length=40, pattern=JOB_ID)]
# Query parameters (`SceneIdQuery | None = None` for an optional filter).
SceneIdQuery = Annotated[str, Query(min_length=1, max_length=105, pattern=SCENE_ID)]
BatchIdQuery = Annotated[str, Query(max_length=40, pattern=JOB_ID)]
