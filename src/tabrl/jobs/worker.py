"""A worker process: runs one job and records its outcome in the database.

`python -m tabrl.jobs.worker JOB_ID`. SIGTERM means "the server is stopping": the job
stops cooperatively, keeps its last checkpoint and ends `interrupted` so it can resume.
A cancel request (flag in the database, read at each progress event) ends it
`cancelled`, also keeping the checkpoint.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

from tabrl.errors import TabRLError
from tabrl.jobs.store import JobStore


@dataclass
class JobContext:
    """What a task gets: its job, a way to report progress, and stop signals."""

    store: JobStore
    job_id: str
    request: dict[str, Any]
    stop_event: threading.Event = field(default_factory=threading.Event)
    interrupted: bool = False

    def report(self, progress: dict[str, Any]) -> None:
        """Store a progress event; notice a cancel request."""
        if self.store.set_progress(self.job_id, progress):
            self.stop_event.set()

    def event(self, type_: str, payload: dict[str, Any]) -> None:
        """Log any other event (e.g. 'video', 'checkpoint')."""
        self.store.add_event(self.job_id, type_, payload)

    def should_stop(self) -> bool:
        """Whether the task must stop at the next safe point."""
        if not self.stop_event.is_set() and self.store.heartbeat(self.job_id):
            self.stop_event.set()
        return self.stop_event.is_set()


def run_job(job_id: str, store: JobStore | None = None) -> str:
    """Run job `job_id` to an outcome; returns the final status."""
    from tabrl.jobs.tasks import TASKS

    store = store or JobStore()
    job = store.get(job_id)
    ctx = JobContext(store=store, job_id=job_id, request=dict(job.request))

    def _on_term(*_: object) -> None:
        ctx.interrupted = True
        ctx.stop_event.set()

    signal.signal(signal.SIGTERM, _on_term)
    task = TASKS.get(job.kind)
    if task is None:
        store.finish(job_id, "failed", error=f"unknown job kind {job.kind!r}")
        return "failed"
    try:
        result = task(ctx)
    except TabRLError as exc:
        store.finish(job_id, "failed", error=str(exc))
        return "failed"
    except MemoryError:
        store.finish(
            job_id, "failed", error="out of memory: try fewer parallel environments or a smaller batch"
        )
        return "failed"
    except Exception as exc:
        traceback.print_exc()
        store.finish(job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        return "failed"
    if ctx.interrupted:
        status = "interrupted"
    elif ctx.stop_event.is_set():
        status = "cancelled"
    else:
        status = "succeeded"
    store.finish(job_id, status, result=result)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m tabrl.jobs.worker JOB_ID`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tabrl.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    status = run_job(args[0])
    return 0 if status in ("succeeded", "cancelled", "interrupted") else 1


if __name__ == "__main__":
    sys.exit(main())
