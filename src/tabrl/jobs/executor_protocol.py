"""What an executor is: the `Executor` protocol the scheduler talks to, and the `WorkerState` it
reports. Every executor (`executors.LocalProcessExecutor`, `ray_executor.RayExecutor`,
`modal_executor.ModalExecutor`) imports it from here, so the Ray and Modal executors never import
`executors`, whose `make_executor` builds them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

#: Names the pid of the process that started a local worker: the worker stops once that process
#: has died (`tabrl.jobs.worker._watch_parent`). Here, below both, so neither imports the other.
PARENT_ENV = "TABRL_WORKER_PARENT"


@dataclass(frozen=True)
class WorkerState:
    """What an executor knows about one worker."""

    alive: bool
    exit_code: int | None = None
    reason: str | None = None
    #: The worker was lost through no fault of the job (e.g. its cluster node died): the job is
    #: interrupted and resumes from its last checkpoint rather than failing.
    lost: bool = False


class Executor(Protocol):
    """Starts, watches and stops job workers."""

    name: str

    def start(self, job_id: str) -> str:
        """Start a worker for `job_id`; return an opaque reference to it."""
        ...

    def poll(self, ref: str) -> WorkerState:
        """Whether the worker behind `ref` still runs, and why it ended."""
        ...

    def stop(self, ref: str, *, force: bool = False) -> None:
        """Ask the worker to stop (interrupt, keeping its checkpoint); `force` kills it."""
        ...

    def recover(self, job_id: str, ref: str | None) -> None:
        """After a server restart: make sure the previous server's worker `ref` for `job_id`, if
        any still runs, is stopped (it keeps its checkpoint). Returns once it no longer runs."""
        ...
