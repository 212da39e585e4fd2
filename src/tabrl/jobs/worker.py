"""A worker process: runs one job and records its outcome in the database.

`python -m tabrl.jobs.worker JOB_ID`. SIGTERM means "the server is stopping": the job
stops cooperatively, keeps its last checkpoint and ends `interrupted` so it can resume.
A cancel request (flag in the database, read at each progress event) ends it
`cancelled`, also keeping the checkpoint.

`execute(ctx, kind)` is the part every executor shares: the Ray executor runs it on a
cluster node with a `JobRecorder` that relays to the server instead of a `JobStore`. The worker
imports the tasks; they only know the `JobContext` (`tabrl.jobs.context`) they run in.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from tabrl.errors import TabRLError
from tabrl.jobs.context import JobContext, JobRecorder
from tabrl.jobs.executor_protocol import PARENT_ENV
from tabrl.jobs.store import JobStore
from tabrl.jobs.tasks import TASKS


def execute(ctx: JobContext, kind: str) -> tuple[str, dict[str, Any] | None, str | None]:
    """Run the task for `kind` in `ctx`; returns (status, result, error). Never raises for the
    task's own failures: they become a `failed` status with a message a person can act on."""
    task = TASKS.get(kind)
    if task is None:
        return "failed", None, f"unknown job kind {kind!r}"
    try:
        result = task(ctx)
    except TabRLError as exc:
        return "failed", None, str(exc)
    except MemoryError:
        return "failed", None, "out of memory: try fewer parallel environments or a smaller batch"
    except Exception as exc:
        traceback.print_exc()
        return "failed", None, f"{type(exc).__name__}: {exc}"
    if ctx.interrupted:
        return "interrupted", result, None
    if ctx.stop_event.is_set():
        return "cancelled", result, None
    return "succeeded", result, None


def run_job(job_id: str, store: JobStore | None = None) -> str:
    """Run job `job_id` to an outcome recorded in `store`; returns the final status."""
    store = store or JobStore()
    job = store.get(job_id)
    ctx = JobContext(store=store, job_id=job_id, request=dict(job.request))

    def _on_term(*_: object) -> None:
        ctx.interrupted = True
        ctx.stop_event.set()

    signal.signal(signal.SIGTERM, _on_term)
    parent = os.environ.get(PARENT_ENV)
    if parent and parent.isdigit():
        _watch_parent(int(parent), _on_term)
    status, result, error = execute(ctx, job.kind)
    store.finish(job_id, status, result=result, error=error)
    return status


def _watch_parent(parent_pid: int, on_gone: Callable[[], None], every_s: float = 1.0) -> None:
    """Call `on_gone` once the process that started this worker has died (checked every `every_s`).

    The local executor starts each worker in its own session, so that a Ctrl-C in the server's
    terminal does not kill training mid-write; a server or `tabrl teach` killed outright (SIGKILL, a
    crash, an OOM kill) then left its workers training for nobody. An orphan is re-parented, so its
    parent pid changes: it stops as on SIGTERM, keeps its checkpoint and ends `interrupted`.
    """

    def _loop() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        on_gone()

    threading.Thread(target=_loop, name="tabrl-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m tabrl.jobs.worker JOB_ID`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tabrl.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    status = run_job(args[0])
    return 0 if status in ("succeeded", "cancelled", "interrupted") else 1


__all__ = ["JobContext", "JobRecorder", "execute", "main", "run_job"]


if __name__ == "__main__":
    sys.exit(main())
