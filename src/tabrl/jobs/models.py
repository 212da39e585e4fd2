"""Database tables: jobs and their event log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

#: Job lifecycle: the one list (the API schema, and through it the web client, use this type).
#: `interrupted`: its worker stopped (server stop, a lost node); it resumes from its last checkpoint
#: when requeued, so it is not terminal.
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
STATUSES: tuple[str, ...] = get_args(JobStatus)
#: Statuses after which nothing more happens to a job (the API's `terminal` flag).
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def status_event(status: str, **extra: Any) -> dict[str, Any]:
    """The payload of a "status" event: the status, whether it is terminal, and `extra`."""
    return {"status": status, "terminal": status in TERMINAL, **extra}


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
