"""Shared by the executor tests: drive a scheduler by hand until a job ends."""

from __future__ import annotations

import time

from tabrl.jobs.models import TERMINAL
from tabrl.jobs.scheduler import Scheduler
from tabrl.jobs.store import JobStore


def drive(
    scheduler: Scheduler, store: JobStore, job_id: str, timeout_s: float = 120, poll_s: float = 0.2
) -> dict:
    """Tick `scheduler` until job `job_id` is terminal; the job as a dict."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        scheduler.tick()
        job = store.get(job_id)
        if job.status in TERMINAL:
            return job.model_dump()
        time.sleep(poll_s)
    raise AssertionError(f"job {job_id} still {store.get(job_id).status} after {timeout_s}s")
