"""The scheduler: a background thread that keeps up to N jobs running."""

from __future__ import annotations

import logging
import re
import threading
import time

from tabrl.jobs.executors import Executor, LocalProcessExecutor, WorkerState
from tabrl.jobs.models import TERMINAL
from tabrl.jobs.store import JobStore

log = logging.getLogger("tabrl.jobs")


class Scheduler:
    """Starts queued jobs on an executor while fewer than `max_concurrent` run."""

    def __init__(
        self,
        store: JobStore,
        executor: Executor | None = None,
        *,
        max_concurrent: int = 2,
        poll_s: float = 0.5,
        resume_interrupted: bool = True,
        max_attempts: int = 3,
    ) -> None:
        self.store = store
        self.executor = executor or LocalProcessExecutor()
        self.max_concurrent = max(1, max_concurrent)
        self.poll_s = poll_s
        self.resume_interrupted = resume_interrupted
        #: A job whose worker was lost (node died) is resumed at most this many starts in all.
        self.max_attempts = max(1, max_attempts)
        self._refs: dict[str, str] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Recover from the last run, then schedule in the background."""
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="tabrl-scheduler", daemon=True)
        self._thread.start()

    def stop(self, *, interrupt_running: bool = True, timeout_s: float = 20.0) -> None:
        """Stop scheduling; running workers are interrupted (they keep their checkpoint)."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        if not interrupt_running:
            return
        for ref in list(self._refs.values()):
            self.executor.stop(ref)
        deadline = time.monotonic() + timeout_s
        while self._refs and time.monotonic() < deadline:
            for job_id, ref in list(self._refs.items()):
                if not self.executor.poll(ref).alive:
                    self._settle(job_id, ref)
            time.sleep(0.1)
        for job_id, ref in list(self._refs.items()):
            self.executor.stop(ref, force=True)
            self._mark_dead(job_id, "interrupted", "the server stopped while this job ran")

    def wake(self) -> None:
        """Look at the queue now (a job was just submitted or cancelled)."""
        self._wake.set()

    def recover(self) -> None:
        """After a restart: interrupt jobs whose worker belonged to the old server, requeue them."""
        for job in self.store.by_status("running"):
            self.executor.recover(job.id, job.worker_ref)
            if self.store.get(job.id).status == "running":
                self.store.finish(job.id, "interrupted", error="the server restarted while this job ran")
        if self.resume_interrupted:
            for job in self.store.by_status("interrupted"):
                self.store.requeue(job.id, resume=True)

    # --- the loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep scheduling whatever one bad job does
                log.exception("scheduler tick failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def tick(self) -> None:
        """Reap finished workers, forward cancels, start queued jobs."""
        for job_id, ref in list(self._refs.items()):
            state = self.executor.poll(ref)
            if not state.alive:
                self._settle(job_id, ref, state)
        queued = self.store.by_status("queued")
        while queued and len(self._refs) < self.max_concurrent:
            job = queued.pop(0)
            ref = self.executor.start(job.id)
            self._refs[job.id] = ref
            self.store.mark_running(job.id, ref=ref)

    def _settle(self, job_id: str, ref: str, state: WorkerState | None = None) -> None:
        self._refs.pop(job_id, None)
        job = self.store.get(job_id)
        if job.status != "running":
            return
        reason = state.reason if state else None
        if state is not None and state.lost:
            # Not the job's fault (its node died): resume it elsewhere from the last checkpoint
            # that reached this server, a bounded number of times.
            lost = reason or "the worker was lost"
            if job.cancel_requested:
                self.store.finish(job_id, "cancelled", error=None)
                return
            if job.attempts >= self.max_attempts:
                self._mark_dead(job_id, "failed", f"{lost}; gave up after {job.attempts} attempts")
                return
            self.store.finish(job_id, "interrupted", error=lost)
            self.store.requeue(job_id, resume=True)
            self._wake.set()
            return
        # The worker ended without recording an outcome: it crashed or was killed.
        self._mark_dead(job_id, "failed", reason or "the worker stopped without reporting a result")

    def _mark_dead(self, job_id: str, status: str, reason: str) -> None:
        self._refs.pop(job_id, None)
        job = self.store.get(job_id)
        if job.status not in TERMINAL:
            from tabrl.jobs.executors import log_path

            tail = _log_tail(log_path(job_id))
            self.store.finish(job_id, status, error=f"{reason}{': ' + tail if tail else ''}")

    @property
    def running(self) -> list[str]:
        """Ids of jobs this scheduler has running."""
        return list(self._refs)


#: Log lines that say nothing about why a worker died: XLA / absl start-up chatter (CPU features,
#: compiler flags) that JAX prints on every start, often after the real cause.
_NOISE = re.compile(
    r"cpu_feature_guard|CPU features?|machine features?|This TensorFlow binary|external/xla/|xla_bridge|"
    r"XLA_FLAGS|absl::InitializeLog|All log messages before absl|rebuild TensorFlow|"
    r"^[EWIF]\d{4} \d\d:\d\d:\d\d.*(xla|cpu|feature)|^\s*warnings\.warn\(|DeprecationWarning",
    re.IGNORECASE,
)


def _log_tail(path, n: int = 300) -> str:
    """The last meaningful lines of a worker's log (start-up noise left out)."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    lines = [line.strip() for line in text if line.strip() and not _NOISE.search(line)][-3:]
    return " | ".join(lines)[-n:]
