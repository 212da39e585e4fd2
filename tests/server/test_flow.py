"""The whole product flow through the HTTP API on CartpoleBalance (heavy: real training).

generate (offline composer) -> batch of 3 -> live events -> 3 models -> videos decode ->
WebSocket inference; plus cancel and restart recovery.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tabrl.server import create_app
from tabrl.server.settings import get_settings

pytestmark = [pytest.mark.heavy, pytest.mark.timeout(1500)]

SMALL = {"num_evals": 3, "num_envs": 64, "batch_size": 64}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    return tmp_path


def _client(**settings) -> TestClient:
    # TestClient's WebSockets name the host "testserver": allowed explicitly, as a LAN name would be.
    settings.setdefault("allowed_hosts", ["testserver"])
    return TestClient(
        create_app(get_settings(max_concurrent_jobs=3, **settings)), base_url="http://127.0.0.1:8000"
    )


def _wait(client: TestClient, job_id: str, statuses: set[str], timeout_s: float = 900) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/training/{job_id}/status").json()
        if job["status"] in statuses:
            return job
        time.sleep(1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s}s: {job}")


def test_generate_batch_events_models_videos_inference(home) -> None:
    import av

    with _client() as client:
        gen = client.post(
            "/api/policy/generate", json={"scene_id": "CartpoleBalance", "prompt": "balance and drift right"}
        )
        assert gen.status_code == 200, gen.text
        approaches = gen.json()["approaches"]
        assert len(approaches) == 3 and all(a["valid"] for a in approaches)
        body = {
            "scene_id": "CartpoleBalance",
            "steps": 20_000,
            "overrides": SMALL,
            "approaches": [{"name": a["name"], "reward_code": a["reward_code"]} for a in approaches],
        }
        batch = client.post("/api/training/batch", json=body)
        assert batch.status_code == 201, batch.text
        jobs = batch.json()["jobs"]
        assert len(jobs) == 3 and all(j["status"] == "queued" for j in jobs)

        # Live events over the WebSocket: a snapshot first, progress, then the terminal status.
        seen = []
        with client.websocket_connect(f"/api/training/{jobs[0]['id']}/events") as ws:
            while True:
                event = ws.receive_json()
                seen.append(event)
                if event["type"] == "snapshot" and event["job"]["status"] in (
                    "succeeded",
                    "failed",
                    "cancelled",
                ):
                    break
        assert seen[0]["type"] == "snapshot"
        progress = [e for e in seen if e["type"] == "progress"]
        assert any(e.get("eval_reward_mean") is not None for e in progress)
        assert any(e.get("reward_terms") for e in progress), "reward terms must be reported"

        done = [_wait(client, j["id"], {"succeeded", "failed", "cancelled"}) for j in jobs]
        assert [j["status"] for j in done] == ["succeeded"] * 3, [j["error"] for j in done]
        models = client.get("/api/models").json()
        assert {m["id"] for m in models} == {j["model_id"] for j in done}

        for job in done:
            resp = client.get(job["video_url"])
            assert resp.status_code == 200 and resp.headers["content-type"] == "video/mp4"
            with av.open(io.BytesIO(resp.content)) as container:
                stream = container.streams.video[0]
                assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
                frames = sum(1 for _ in container.decode(stream))
            assert frames >= 100  # 10 s of video
            part = client.get(job["video_url"], headers={"Range": "bytes=0-1023"})
            assert part.status_code == 206 and len(part.content) == 1024

        model = models[0]
        with client.websocket_connect(f"/api/models/{model['id']}/inference") as ws:
            hello = ws.receive_json()
            assert hello["obs_size"] == 5 and hello["action_size"] == 1
            ws.send_bytes(np.zeros(5, "<f4").tobytes())
            action = np.frombuffer(ws.receive_bytes(), "<f4")
            assert action.shape == (1,) and np.isfinite(action).all() and abs(action[0]) <= 1
            ws.send_text(json.dumps({"observation": [0, 1, 0, 0, float("nan")]}))
            assert "NaN" in ws.receive_json()["error"]
            ws.send_bytes(b"abc")
            assert "multiple of 4" in ws.receive_json()["error"]
            ws.send_text(json.dumps({"state": {"qpos": [0.0, 0.1], "qvel": [0.0, 0.0]}}))
            reply = ws.receive_json()
            assert len(reply["action"]) == 1 and len(reply["observation"]) == 5
        onnx = client.get(model["onnx_url"])
        assert onnx.status_code == 200 and len(onnx.content) > 100


def test_cancel_keeps_a_policy_and_restart_resumes(home) -> None:
    # Long enough never to finish during the test (~10-20 k steps/s on a CPU).
    long = {"scene_id": "CartpoleBalance", "steps": 200_000_000, "overrides": {**SMALL, "num_evals": 2000}}
    with _client() as client:
        a = client.post("/api/training/start", json=long).json()
        b = client.post("/api/training/start", json=long).json()
        # Wait for both to pass their first evaluation (a checkpoint exists).
        for job in (a, b):
            deadline = time.monotonic() + 600
            while not client.get(f"/api/training/{job['id']}/status").json()["history"]:
                assert time.monotonic() < deadline, "no evaluation within 600 s"
                time.sleep(1)
        cancelled = client.post(f"/api/training/{a['id']}/cancel").json()
        assert cancelled["cancel_requested"]
        a_done = _wait(client, a["id"], {"cancelled", "failed"}, 600)
        assert a_done["status"] == "cancelled" and a_done["model_id"], a_done
        # Leaving the client stops the server: the running job is interrupted, not lost.
    with TestClient(
        create_app(get_settings(max_concurrent_jobs=3, run_jobs=False)), base_url="http://127.0.0.1:8000"
    ) as client:
        assert client.get(f"/api/training/{b['id']}/status").json()["status"] == "interrupted"
    with _client() as client:
        job = client.get(f"/api/training/{b['id']}/status").json()
        assert job["status"] in ("queued", "running")
        first_step = job["history"][-1]["step"]
        # It resumes from the checkpoint: the next evaluation is past the interrupted one.
        deadline = time.monotonic() + 600
        while True:
            history = client.get(f"/api/training/{b['id']}/status").json()["history"]
            if history and history[-1]["step"] > first_step:
                break
            assert time.monotonic() < deadline
            time.sleep(1)
        client.post(f"/api/training/{b['id']}/cancel")
        assert _wait(client, b["id"], {"cancelled", "failed"}, 600)["status"] == "cancelled"
