"""The job queue at scale on Ray: N small CartpoleBalance jobs through the HTTP API.

Starts a local Ray cluster on this machine (a CPU-less head for the server's driver, then
`--nodes` worker nodes of `--cpus-per-node` CPUs), a real TabRL server (uvicorn, on a free
loopback port, `executor=ray`, a fresh TABRL_HOME) and submits `--jobs` training jobs of
`--steps` steps each (each trains, adds its policy to the library and renders its video). While
the queue drains it polls the API once a second (the job list, one job's status, health) and
records every queued job's position and estimated start. It reports:

- lost / duplicated: every job ends `succeeded`, ran on exactly one Ray worker and left exactly
  one model in the library (the library holds N models);
- queue positions and estimated starts: non-increasing for each job while it waits, and how far
  the estimate made at submission (and at every later poll) was from the job's real start;
- the API's latency (p50 / p99 / max) while the queue drains.

    uv run python bench/ray_queue.py                       # 100 jobs, 2 one-CPU nodes
    uv run python bench/ray_queue.py --jobs 20 --json bench/results/ray_queue.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _estimate_figures(
    points: dict[str, list[tuple[float, int, float | None]]],
    real_start: dict[str, float],
    second_end: float | None = None,
) -> dict:
    """How the queue's figures behaved per job: `points` are its (time, position, estimated seconds
    to start) from submission on, `real_start` when it started. Positions and estimated start times
    must not increase (1 s of jitter allowed); the error is |estimate - real wait| / real wait, on
    waits of 10 s or more (a relative error on a few seconds' wait says nothing). With `second_end`
    (when the second job ended), the polls before and after it are also summed up apart: before,
    no job run time has been measured end to end."""
    pos_up = eta_up = 0
    max_slip = 0.0
    first_err, all_err, early_err, late_err = [], [], [], []
    for jid, pts in points.items():
        # A job that had already started when its submission returned has no position (None).
        pos_up += sum(1 for a, b in itertools.pairwise(pts) if None not in (a[1], b[1]) and b[1] > a[1])
        for a, b in itertools.pairwise(pts):
            if a[2] is not None and b[2] is not None:
                slip = (b[0] + b[2]) - (a[0] + a[2])  # the estimated start as a time
                eta_up += slip > 1.0
                max_slip = max(max_slip, slip)
        if jid not in real_start:
            continue
        for i, (t, _, eta) in enumerate(pts):
            wait = real_start[jid] - t
            if wait < 10 or eta is None:
                continue
            err = abs(eta - wait) / wait
            all_err.append(err)
            if i == 0:
                first_err.append(err)
            if second_end is not None:
                (early_err if t < second_end else late_err).append(err)

    def summary(errs: list[float]) -> dict:
        return {
            "median": round(statistics.median(errs), 3) if errs else None,
            "within_30pct": round(sum(1 for e in errs if e <= 0.3) / len(errs), 3) if errs else None,
            "n": len(errs),
        }

    out = {
        "queue_position_increases": pos_up,
        "estimated_start_slips": eta_up,
        "max_estimated_start_slip_s": round(max_slip, 1),
        "eta_error_at_submission": summary(first_err),
        "eta_error_all_polls": summary(all_err),
    }
    if second_end is not None:
        out["eta_error_before_two_ended"] = summary(early_err)
        out["eta_error_after_two_ended"] = summary(late_err)
    return out


def _second_end(finished: list[float]) -> float | None:
    """When the second job ended (None before two have)."""
    return sorted(finished)[1] if len(finished) >= 2 else None


def _trace(store, submitted: dict, observed: dict, concurrent: int) -> dict:
    """Every job's row times and every poll, for `--replay`."""
    jobs = {}
    for jid in submitted:
        job = store.get(jid)
        jobs[jid] = {
            "created_at": job.created_at.isoformat(),
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "estimate_s": job.estimate_s,
            "status": job.status,
            "attempts": job.attempts,
            "submitted": submitted[jid],
            "polls": observed[jid],
            # (when it arrived, server clock; the training's ETA) of each progress report.
            "progress": [
                (e.created_at.replace(tzinfo=UTC).timestamp(), e.payload["eta_s"])
                for e in store.events_after(jid)
                if e.type == "progress" and isinstance(e.payload.get("eta_s"), (int, float))
            ],
        }
    return {"concurrent": concurrent, "jobs": jobs}


def _as_of(rows: dict, t: float) -> list:
    """The jobs as the store held them at time `t` (rows created by then; later times cleared)."""
    from tabrl.jobs.models import Job

    out = []
    for jid, r in rows.items():
        created, started, finished = (
            r[k] and datetime.fromisoformat(r[k]) for k in ("created_at", "started_at", "finished_at")
        )
        if created.timestamp() > t:
            continue
        started = started if started and started.timestamp() <= t else None
        finished = finished if finished and started and finished.timestamp() <= t else None
        status = (r["status"] if finished else "running") if started else "queued"
        reports = [(at, eta) for at, eta in r.get("progress", ()) if at <= t]
        job = Job(
            id=jid,
            scene_id="CartpoleBalance",
            status=status,
            attempts=1 if started else 0,
            created_at=created,
            started_at=started,
            finished_at=finished,
            estimate_s=r["estimate_s"],
            progress={"eta_s": reports[-1][1], "reported_at": reports[-1][0]} if reports else None,
        )
        out.append(job)
    return out


def replay(path: Path, last: int = 20) -> dict:
    """The estimator of this checkout (`tabrl.jobs.queue_eta`) on a recorded run: at each recorded
    poll, what it would have said from the rows of that moment (with the running jobs' latest
    training ETA, for traces that record it), against the real starts."""
    from tabrl.jobs import queue_eta

    trace = json.loads(path.read_text())
    rows = trace["jobs"]
    # Each job is estimated when it was in the run: at its submission and at each poll it was queued.
    asked: dict[float, set[str]] = {}
    for jid, r in rows.items():
        for t in [r["submitted"]["t"], *(p[0] for p in r["polls"])]:
            asked.setdefault(t, set()).add(jid)
    points: dict[str, list] = {jid: [] for jid in rows}
    for t in sorted(asked):
        jobs = _as_of(rows, t)
        now = datetime.fromtimestamp(t, UTC)
        done = sorted((j for j in jobs if j.status == "succeeded"), key=lambda j: j.finished_at)[-last:]
        started = sorted((j for j in jobs if j.started_at), key=lambda j: j.started_at)[-last:]
        ends = [j.finished_at for j in jobs if j.finished_at]
        history = queue_eta.History(queue_eta.run_ratios(done), queue_eta.handover_gap(started, ends))
        queued = [j for j in jobs if j.status == "queued"]
        running = [j for j in jobs if j.status == "running"]
        for jid, (pos, eta) in queue_eta.starts(queued, running, history, now, trace["concurrent"]).items():
            if jid in asked[t]:
                points[jid].append((t, pos, eta))
    real = {jid: _ts(r["started_at"]) for jid, r in rows.items() if r["started_at"]}
    ends = _second_end([_ts(r["finished_at"]) for r in rows.values() if r["finished_at"]])
    return _estimate_figures({j: p for j, p in points.items() if p}, real, ends)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--cpus-per-node", type=int, default=1)
    ap.add_argument("--concurrent", type=int, default=0, help="Jobs at once (default: nodes x cpus).")
    ap.add_argument("--timeout-min", type=float, default=120.0)
    ap.add_argument("--json", type=Path, default=None, help="Write the figures here too.")
    ap.add_argument(
        "--raw",
        type=Path,
        default=None,
        help="Write every job's times and every poll's (time, position, estimated start) here, to study "
        "where the estimates miss.",
    )
    ap.add_argument(
        "--video", action="store_true", help="Each job also renders its 10 s video (off: `video: false`)."
    )
    ap.add_argument(
        "--replay",
        type=Path,
        default=None,
        help="Instead of running: the estimates this checkout would have made on a `--raw` trace.",
    )
    args = ap.parse_args(argv)
    if args.replay:
        print(json.dumps(replay(args.replay), indent=2))
        return 0

    load_start = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="tabrl-bench-ray-"))
    os.environ["TABRL_HOME"] = str(home)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import httpx
    import ray
    import uvicorn
    from ray.cluster_utils import Cluster

    from tabrl.jobs.store import JobStore
    from tabrl.server import create_app
    from tabrl.server.settings import get_settings

    concurrent = args.concurrent or args.nodes * args.cpus_per_node
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(args.nodes):
        cluster.add_node(num_cpus=args.cpus_per_node)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="tabrl-bench", log_to_driver=False)
    port = _free_port()
    app = create_app(get_settings(executor="ray", max_concurrent_jobs=concurrent, port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=60)
    deadline = time.monotonic() + 60
    while True:
        try:
            if client.get("/api/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start within 60 s")
        time.sleep(0.2)

    body = {
        "scene_id": "CartpoleBalance",
        "steps": args.steps,
        "overrides": {"num_envs": 64, "batch_size": 64},
        "video": args.video,
    }
    submitted: dict[str, dict] = {}
    t0 = time.time()
    for _ in range(args.jobs):
        resp = client.post("/api/training/start", json=body)
        if resp.status_code != 201:
            raise SystemExit(f"submitting failed: {resp.status_code} {resp.text}")
        job = resp.json()
        submitted[job["id"]] = {
            "t": time.time(),
            "pos": job["queue_position"],
            "eta": job["estimated_start_s"],
        }
    submit_s = time.time() - t0
    print(f"submitted {args.jobs} jobs in {submit_s:.1f} s; draining on {args.nodes} node(s) x {concurrent}")

    latencies: dict[str, list[float]] = {"list": [], "status": [], "health": []}
    observed: dict[str, list[tuple[float, int, float]]] = {jid: [] for jid in submitted}
    ids = list(submitted)
    end = time.monotonic() + args.timeout_min * 60
    final: dict[str, dict] = {}
    last_print = 0.0
    while time.monotonic() < end:
        t = time.time()
        t1 = time.perf_counter()
        jobs = client.get("/api/training", params={}).json()
        latencies["list"].append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        client.get(f"/api/training/{random.choice(ids)}/status")
        latencies["status"].append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        client.get("/api/health")
        latencies["health"].append(time.perf_counter() - t1)
        for job in jobs:
            if job["id"] in observed and job["status"] == "queued":
                observed[job["id"]].append((t, job["queue_position"], job["estimated_start_s"]))
        done = [
            j for j in jobs if j["id"] in submitted and j["status"] in ("succeeded", "failed", "cancelled")
        ]
        if time.monotonic() - last_print > 30:
            last_print = time.monotonic()
            print(f"  {time.time() - t0:6.0f} s: {len(done)}/{args.jobs} done", flush=True)
        if len(done) == args.jobs:
            final = {j["id"]: j for j in jobs if j["id"] in submitted}
            break
        time.sleep(1.0)
    drain_s = time.time() - t0
    if not final:
        final = {j["id"]: j for j in client.get("/api/training").json() if j["id"] in submitted}

    store = JobStore()
    runs_per_job = {jid: sum(1 for e in store.events_after(jid) if e.type == "worker") for jid in submitted}
    statuses = {jid: (final.get(jid) or {}).get("status", "missing") for jid in submitted}
    models = client.get("/api/models").json()
    model_ids = [j.get("model_id") for j in final.values() if j.get("model_id")]
    lost = [jid for jid, s in statuses.items() if s != "succeeded"]
    duplicated = [jid for jid, n in runs_per_job.items() if n != 1]

    points = {
        jid: [(submitted[jid]["t"], submitted[jid]["pos"], submitted[jid]["eta"]), *obs]
        for jid, obs in observed.items()
    }
    if args.raw:  # first: a trace must outlive any failure of the figures below
        args.raw.parent.mkdir(parents=True, exist_ok=True)
        args.raw.write_text(json.dumps(_trace(store, submitted, observed, concurrent)))
    real = {jid: _ts(j["started_at"]) for jid, j in final.items() if j.get("started_at")}
    ends = _second_end([_ts(j["finished_at"]) for j in final.values() if j.get("finished_at")])
    figures = _estimate_figures(points, real, ends)
    load = os.getloadavg()
    report = {
        "jobs": args.jobs,
        "steps": args.steps,
        "video": args.video,
        "nodes": args.nodes,
        "concurrent": concurrent,
        "submit_s": round(submit_s, 1),
        "drain_s": round(drain_s, 1),
        "succeeded": sum(1 for s in statuses.values() if s == "succeeded"),
        "lost": lost,
        "duplicated": duplicated,
        "models_in_library": len(models),
        "distinct_model_ids": len(set(model_ids)),
        **figures,
        "api_latency_ms": {
            name: {
                "p50": round(_pct(v, 0.5) * 1000, 1),
                "p99": round(_pct(v, 0.99) * 1000, 1),
                "max": round(max(v) * 1000, 1) if v else None,
                "n": len(v),
            }
            for name, v in latencies.items()
        },
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    server.should_exit = True
    thread.join(timeout=60)
    ray.shutdown()
    cluster.shutdown()
    return 0 if not lost and not duplicated and len(models) == args.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
