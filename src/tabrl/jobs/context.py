"""What a running task gets: its job's id and request, a recorder for progress, and stop signals.

Below both `tasks` (which runs in a `JobContext`) and `worker` (which makes one and runs the task
for its kind): neither imports the other for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from tabrl.jobs.models import Job


class JobRecorder(Protocol):
    """What a running task may read and write about its job (a `JobStore` has all of it)."""

    def get(self, job_id: str) -> Job:
        """The job as it stands."""
        ...

    def set_progress(self, job_id: str, progress: dict[str, Any]) -> bool:
        """Record progress; returns whether the job must stop."""
        ...

    def heartbeat(self, job_id: str) -> bool:
        """Record that the task is alive; returns whether the job must stop."""
        ...

    def add_event(self, job_id: str, type_: str, payload: dict[str, Any]) -> None:
        """Append an event to the job's log."""
        ...

    def update_result(self, job_id: str, **result: Any) -> Any:
        """Merge keys into the job's result."""
        ...


@dataclass
class JobContext:
    """What a task gets: its job, a way to report progress, and stop signals."""

    store: JobRecorder
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
