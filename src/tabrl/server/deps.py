"""Dependencies shared by routes: the job store and the scheduler on app.state."""

from __future__ import annotations

from fastapi import Request

from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore
from tabrl.server.settings import Settings


def get_store(request: Request) -> JobStore:
    """The app's JobStore."""
    return request.app.state.store


def get_scheduler(request: Request) -> Scheduler | None:
    """The app's scheduler (None when jobs are not run by this process)."""
    return request.app.state.scheduler


def get_app_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings
