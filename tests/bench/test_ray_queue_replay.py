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


def _trace(
    durations: list[float], slots: int, estimate: float, gap: float, report_after: float | None = None
) -> dict:
    """Jobs submitted at once to `slots` slots, run for `durations`, polled every second. With
    `report_after`, each job's training reports a true ETA every second from that long after its start."""
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
            "progress": []
            if report_after is None
            else [(t, start + d - t) for t in range(int(start + report_after) + 1, int(start + d))],
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


def test_the_running_jobs_training_etas_set_the_estimates_before_any_job_ends(tmp_path: Path) -> None:
    # A queue submitted at once to a fresh server on a machine three times slower than the estimates:
    # nothing has ended for the first 9.5 s, but two seconds in, each running job's training knows when
    # it will end (its ETA at the measured speed), and so how long the waiting jobs will take.
    blind, told = tmp_path / "blind.json", tmp_path / "told.json"
    blind.write_text(json.dumps(_trace([9.0] * 30, slots=2, estimate=3.0, gap=1.0)))
    told.write_text(json.dumps(_trace([9.0] * 30, slots=2, estimate=3.0, gap=1.0, report_after=2.0)))
    before = _bench().replay(blind)["eta_error_before_two_ended"]
    after = _bench().replay(told)["eta_error_before_two_ended"]
    assert before["n"] == after["n"] > 100
    # The polls of the first 3 s (a third of these) come before any report: blind either way.
    assert before["within_30pct"] < 0.3 and before["median"] > 0.5, before
    assert after["within_30pct"] >= 0.6 and after["median"] < 0.15, after


def test_a_job_running_at_its_submission_has_no_queue_figures() -> None:
    # Its submission returned no position and no estimate: a 100-job run once crashed on it at the end.
    figures = _bench()._estimate_figures(
        {"a": [(0.0, None, None), (1.0, 2, 30.0), (2.0, 1, 29.0)], "b": [(0.0, None, None)]},
        {"a": 31.0, "b": 0.1},
        second_end=10.0,
    )
    assert figures["queue_position_increases"] == 0 and figures["estimated_start_slips"] == 0
    assert figures["eta_error_all_polls"]["n"] == 2 and figures["eta_error_before_two_ended"]["n"] == 2
    assert figures["eta_error_after_two_ended"]["n"] == 0
