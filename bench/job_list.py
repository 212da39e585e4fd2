"""The job list's latency with a long queue: `GET /api/training` against the per-job views it replaced.

A fresh job store (SQLite in a temporary TABRL_HOME) holds `--jobs` jobs: most queued, two running,
the rest finished with `--events` progress events each (what a draining queue looks like). It
times, in the same run on the same store:

- reference: one view per job (`tabrl.server.views.job_out`), each reading the queue, the running
  jobs, the learned estimate scale and its own events again (how the list was built before);
- the list endpoint through the HTTP app (`jobs_out`: the queue and every job's events read once).

    uv run python bench/job_list.py              # 100 jobs
    uv run python bench/job_list.py --jobs 300

The 100-job Ray bench (`bench/ray_queue.py`) measured the old list at p99 1.9 s while a queue
drained on 2 cores; this bench isolates the list's own cost from the training jobs around it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--events", type=int, default=20, help="progress events per started job")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ["TABRL_HOME"] = tempfile.mkdtemp(prefix="tabrl-bench-list-")

    from fastapi.testclient import TestClient

    from tabrl.server import create_app
    from tabrl.server.settings import get_settings
    from tabrl.server.views import job_out

    settings = get_settings(run_jobs=False)
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        store = app.state.store
        request = {"scene_id": "CartpoleBalance", "steps": 5000}
        jobs = [
            store.create(
                kind="train", scene_id="CartpoleBalance", request=request, name=f"j{i}", estimate_s=20.0
            )
            for i in range(args.jobs)
        ]
        started = jobs[: max(2, args.jobs * 2 // 5)]
        for job in started:
            store.mark_running(job.id, ref="bench")
            for k in range(args.events):
                progress = {"step": k * 250, "total_steps": 5000, "eval_reward_mean": float(k), "eta_s": 5.0}
                store.set_progress(job.id, progress)
        for job in started[:-2]:
            store.finish(job.id, "succeeded", result={})

        def per_job() -> int:
            return len([job_out(j, store, settings.max_concurrent_jobs) for j in store.list()])

        def endpoint() -> int:
            response = client.get("/api/training")
            assert response.status_code == 200, response.text
            return len(response.json())

        rows = []
        for label, fn in (("reference: a view per job", per_job), ("GET /api/training", endpoint)):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                assert fn() == args.jobs
                times.append(time.perf_counter() - t0)
            rows.append((label, statistics.median(times), _percentile(times, 0.99), max(times)))

    print(f"job list of {args.jobs} jobs ({len(started) - 2} finished with {args.events} progress events, "
          f"2 running, {args.jobs - len(started)} queued); load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{'':28} {'p50':>9} {'p99':>9} {'max':>9}")
    for label, p50, p99, worst in rows:
        print(f"{label:28} {p50 * 1000:7.1f}ms {p99 * 1000:7.1f}ms {worst * 1000:7.1f}ms")
    print(f"speed-up (p50): {rows[0][1] / rows[1][1]:.1f}x")


if __name__ == "__main__":
    main()
