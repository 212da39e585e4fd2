"""WebSocket inference latency: p50 / p99 round trip and throughput, 1 and 16 clients.

    uv run python bench/inference_ws.py [--policy POLICY_DIR] [--frames 2000]

Starts `tabrl serve` (a real uvicorn process) on a free loopback port with a temporary
TABRL_HOME holding the policy, and measures binary float32 round trips on
`/api/models/{id}/inference`. Reference, in the same run: a WebSocket echo server on the
same stack (FastAPI + uvicorn), i.e. the transport's own floor. Without --policy, a small
CartpoleBalance policy is trained first (`tabrl train --steps 20000`, ~1 min on a CPU).
Target: p99 < 5 ms on loopback (the product brief asks < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ECHO_APP = """
from fastapi import FastAPI, WebSocket
app = FastAPI()
@app.websocket("/echo")
async def echo(ws: WebSocket):
    await ws.accept()
    await ws.send_json({"ready": True})
    while True:
        data = await ws.receive_bytes()
        await ws.send_bytes(data)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout_s}s")


async def client(
    url: str, obs_size: int, frames: int, lat: list[float], spans: list[tuple[float, float]]
) -> None:
    import websockets

    rng = np.random.default_rng(0)
    async with websockets.connect(url, max_size=None) as ws:
        json.loads(await ws.recv())  # ready message
        for _ in range(50):  # warm-up
            await ws.send(rng.standard_normal(obs_size).astype("<f4").tobytes())
            await ws.recv()
        start = time.perf_counter()
        for _ in range(frames):
            payload = rng.standard_normal(obs_size).astype("<f4").tobytes()
            t0 = time.perf_counter()
            await ws.send(payload)
            await ws.recv()
            lat.append(time.perf_counter() - t0)
        spans.append((start, time.perf_counter()))


async def measure(url: str, obs_size: int, clients: int, frames: int) -> dict[str, float]:
    lat: list[float] = []
    spans: list[tuple[float, float]] = []
    await asyncio.gather(*(client(url, obs_size, frames, lat, spans) for _ in range(clients)))
    # Throughput over the measured loops only (connecting and warm-up excluded).
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    ms = np.asarray(lat) * 1000
    return {
        "clients": clients,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "throughput_per_s": len(ms) / wall,
    }


def train_small_policy(home: Path) -> Path:
    out = home / "bench-run"
    cmd = [
        sys.executable,
        "-m",
        "tabrl.cli",
        "train",
        "--scene",
        "CartpoleBalance",
        "--steps",
        "20000",
        "--out",
        str(out),
        "--json",
    ]
    subprocess.run(
        cmd, check=True, capture_output=True, text=True, env={**os.environ, "TABRL_HOME": str(home)}
    )
    return out / "policy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, help="policy folder (default: train a small one)")
    parser.add_argument("--frames", type=int, default=2000, help="round trips per client")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="tabrl-bench-ws-"))
    procs: list[subprocess.Popen] = []
    try:
        policy = args.policy or train_small_policy(home)
        manifest = json.loads((policy / "manifest.json").read_text())
        model_id, obs_size = manifest["id"], manifest["observation_size"]
        shutil.copytree(policy, home / "policies" / model_id)
        env = {**os.environ, "TABRL_HOME": str(home)}
        port, echo_port = free_port(), free_port()
        log = open(home / "serve.log", "wb")  # noqa: SIM115 - lives as long as the server
        serve = [sys.executable, "-m", "tabrl.cli", "serve", "--port", str(port), "--no-build-web"]
        procs.append(subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT))
        (home / "echo_app.py").write_text(ECHO_APP)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "echo_app:app",
                    "--port",
                    str(echo_port),
                    "--log-level",
                    "warning",
                ],
                cwd=home,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        try:
            wait_port(port)
        except RuntimeError:
            print((home / "serve.log").read_text()[-3000:], file=sys.stderr)
            raise
        wait_port(echo_port)
        url = f"ws://127.0.0.1:{port}/api/models/{model_id}/inference"
        echo = f"ws://127.0.0.1:{echo_port}/echo"
        rows = []
        for clients in (1, 16):
            frames = args.frames if clients == 1 else max(100, args.frames // 8)
            ref = asyncio.run(measure(echo, obs_size, clients, frames))
            tab = asyncio.run(measure(url, obs_size, clients, frames))
            rows.append(("echo (reference)", ref))
            rows.append(("tabrl inference", tab))
        print(f"WebSocket inference, policy {model_id} (obs {obs_size}), binary float32 frames, loopback")
        print(f"{'server':<18}{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'frames/s':>12}")
        for name, r in rows:
            print(
                f"{name:<18}{r['clients']:>8}{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}{r['throughput_per_s']:>12.0f}"
            )
        single = next(r for n, r in rows if n == "tabrl inference" and r["clients"] == 1)
        ok = single["p99_ms"] < 5.0
        print(f"target p99 < 5 ms with 1 client: {'MET' if ok else 'NOT MET'} ({single['p99_ms']:.3f} ms)")
        print(json.dumps({"rows": [{"server": n, **r} for n, r in rows], "target_met": ok}))
        return 0 if ok else 1
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
