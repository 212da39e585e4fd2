"""`bench/ray_queue.py --replay`: the queue estimator of this checkout on a recorded run's trace."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "ray_queue.py"


def _bench():
    spec = importlib.util.spec_from_file_location("tabrl_bench_ray_queue", _BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _trace(durations: list[float], slots: int, estimate: float, gap: float) -> dict:
    """Jobs submitted at once to `slots` slots, run for `durations`, polled every second."""
    t0 = 1_800_000_000.0
    free = [t0 + 0.5] * slots
    jobs = {}
    iso = lambda t: datetime.fromtimestamp(t, UTC).isoformat()  # noqa: E731
    for i, d in enumerate(durations):
        created = t0 + 0.01 * i
        free.sort()
        start = max(free.pop(0), created)
        free.append(start + d + gap)
        polls = [[t, 0, 0.0] for t in range(int(t0) + 1, int(start)) if t > created]
        jobs[f"j{i:02d}"] = {
            "created_at": iso(created),
            "started_at": iso(start),
            "finished_at": iso(start + d),
            "estimate_s": estimate,
            "status": "succeeded",
            "attempts": 1,
            "submitted": {"t": created, "pos": i + 1, "eta": 0.0},
            "polls": polls,
        }
    return {"concurrent": slots, "jobs": jobs}


def test_a_queue_that_runs_as_learnt_is_estimated_within_30_percent(tmp_path: Path) -> None:
    # Thirty jobs on two slots, each 9 s where 3 s was estimated, a 1 s handover: once two jobs end
    # (at 9.5 s) the estimator has learnt both, and every later estimate is exact; before that, the
    # running jobs only bound the run time from below (the polls of those first seconds miss).
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(_trace([9.0] * 30, slots=2, estimate=3.0, gap=1.0)))
    figures = _bench().replay(path)
    assert figures["queue_position_increases"] == 0
    every = figures["eta_error_all_polls"]
    assert every["n"] > 1000 and every["median"] == 0.0 and every["within_30pct"] >= 0.85
    # At submission nothing had ended: the 3 s estimates said a third of the real waits.
    assert figures["eta_error_at_submission"]["median"] > 0.5


def test_slow_jobs_make_the_estimates_slip(tmp_path: Path) -> None:
    # The last jobs take 4x the first ones: estimates made from the quick ones run early and slip.
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(_trace([9.0] * 6 + [36.0] * 6, slots=2, estimate=9.0, gap=1.0)))
    figures = _bench().replay(path)
    assert figures["estimated_start_slips"] >= 5 and figures["max_estimated_start_slip_s"] >= 4
