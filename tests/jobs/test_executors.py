"""Worker processes: which pids count as a job's worker, and what a dead worker's error says."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tabrl.jobs.executors import pid_alive
from tabrl.jobs.scheduler import _log_tail


def _started(proc: subprocess.Popen, marker: bytes, timeout_s: float = 10.0) -> None:
    """Wait until the child runs its own command line (right after fork it still has the parent's)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if marker in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
                return
        except OSError:
            pass
        time.sleep(0.01)


def test_pid_alive_matches_the_jobs_own_worker_only() -> None:
    # A process whose command line looks like another job's worker (another TabRL instance, or a
    # reused pid): recovery must not take it for this job's worker and stop it.
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "tabrl.jobs.worker", "job_aaaa1111"]
    )
    _started(proc, b"job_aaaa1111")
    try:
        assert pid_alive(proc.pid)
        assert pid_alive(proc.pid, "job_aaaa1111")
        assert not pid_alive(proc.pid, "job_bbbb2222")
    finally:
        proc.kill()
        proc.wait()
    assert not pid_alive(proc.pid, "job_aaaa1111")


def test_pid_alive_is_false_for_other_programs() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "job_aaaa1111"])
    _started(proc, b"job_aaaa1111")
    try:
        assert not pid_alive(proc.pid, "job_aaaa1111")
    finally:
        proc.kill()
        proc.wait()


def test_dead_worker_error_leaves_out_xla_startup_noise(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text(
        "step 40960: eval reward 812.3\n"
        "RuntimeError: out of memory while allocating 8.0GiB\n"
        "E0000 00:00:1764553561.123456   81234 cpu_client.cc:93] Target machine feature +avx512f is not "
        "supported on the host machine (CPU features: +sse4.2,+avx2)\n"
        "W0000 00:00:1764553561.234567   81234 external/xla/xla/service/cpu/cpu_compiler.cc:1] XLA:CPU "
        "machine features differ from the cache\n"
    )
    tail = _log_tail(log)
    assert "out of memory" in tail and "eval reward" in tail
    assert "feature" not in tail.lower() and "xla" not in tail.lower()


def test_recover_stops_the_previous_servers_worker_and_requeues_its_job(tmp_path: Path, monkeypatch) -> None:
    from tabrl.jobs.db import make_engine
    from tabrl.jobs.executors import LocalProcessExecutor
    from tabrl.jobs.scheduler import Scheduler
    from tabrl.jobs.store import JobStore

    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    store = JobStore(make_engine(f"sqlite:///{tmp_path / 'jobs.db'}"))
    job = store.create(
        kind="train", scene_id="CartpoleBalance", request={"scene_id": "CartpoleBalance", "steps": 1000}
    )
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "tabrl.jobs.worker", "job_bbbb2222"]
    )
    mine = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "tabrl.jobs.worker", job.id]
    )
    _started(other, b"job_bbbb2222")
    _started(mine, job.id.encode())
    try:
        # A previous server started it; this one only knows the reference it recorded.
        store.mark_running(job.id, ref=f"pid:{mine.pid}")
        LocalProcessExecutor().recover("job_bbbb2222", f"pid:{mine.pid}")  # not that job's worker
        assert mine.poll() is None
        Scheduler(store, LocalProcessExecutor()).recover()
        assert mine.wait(timeout=5) is not None
        assert other.poll() is None  # another instance's worker is left alone
        assert store.get(job.id).status == "queued" and store.get(job.id).request["resume"] is True
    finally:
        for proc in (other, mine):
            proc.kill()
            proc.wait()
