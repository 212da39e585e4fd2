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
