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
from datetime import datetime
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
        "--video", action="store_true", help="Each job also renders its 10 s video (off: `video: false`)."
    )
    args = ap.parse_args(argv)

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

    # Queue positions and estimated starts while waiting: non-increasing (1 s of jitter allowed).
    pos_up = eta_up = 0
    max_slip = 0.0
    first_err, all_err = [], []
    for jid, obs in observed.items():
        points = [(submitted[jid]["t"], submitted[jid]["pos"], submitted[jid]["eta"]), *obs]
        pos_up += sum(1 for a, b in itertools.pairwise(points) if b[1] > a[1])
        # The estimated start as a time: now + eta; it must not slip later than the previous one.
        for a, b in itertools.pairwise(points):
            if a[2] is not None and b[2] is not None:
                slip = (b[0] + b[2]) - (a[0] + a[2])
                eta_up += slip > 1.0
                max_slip = max(max_slip, slip)
        started = (final.get(jid) or {}).get("started_at")
        if not started:
            continue
        real = _ts(started)
        for i, (t, _, eta) in enumerate(points):
            wait = real - t
            if wait < 10 or eta is None:
                continue  # relative errors on a few seconds' wait say nothing
            err = abs(eta - wait) / wait
            all_err.append(err)
            if i == 0:
                first_err.append(err)

    within = lambda errs: sum(1 for e in errs if e <= 0.3) / len(errs) if errs else float("nan")  # noqa: E731
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
        "queue_position_increases": pos_up,
        "estimated_start_slips": eta_up,
        "max_estimated_start_slip_s": round(max_slip, 1),
        "eta_error_at_submission": {
            "median": round(statistics.median(first_err), 3) if first_err else None,
            "within_30pct": round(within(first_err), 3),
            "n": len(first_err),
        },
        "eta_error_all_polls": {
            "median": round(statistics.median(all_err), 3) if all_err else None,
            "within_30pct": round(within(all_err), 3),
            "n": len(all_err),
        },
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
