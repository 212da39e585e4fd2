"""Database tables: jobs and their event log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

#: Job lifecycle. `interrupted`: the server stopped while it ran; it resumes from its
#: last checkpoint when requeued.
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def utcnow() -> datetime:
    """Timezone-aware now (UTC)."""
    return datetime.now(UTC)


class Job(SQLModel, table=True):
    """One unit of work (train a policy, render a video)."""

    id: str = Field(primary_key=True)
    kind: str = Field(default="train", index=True)
    batch_id: str | None = Field(default=None, index=True)
    name: str = ""
    scene_id: str = ""
    status: str = Field(default="queued", index=True)
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    progress: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = None
    cancel_requested: bool = False
    attempts: int = 0
    worker_pid: int | None = None
    worker_ref: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    #: Rough run time (s) used for queue estimates.
    estimate_s: float | None = None


class JobEvent(SQLModel, table=True):
    """An append-only log of what happened to a job (progress, status, video...)."""

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True, foreign_key="job.id")
    type: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)
