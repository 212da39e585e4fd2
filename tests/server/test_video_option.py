"""`video: false` on a training request: the job trains and stores its model, and renders no video."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tabrl.jobs.store import JobStore
from tabrl.server import create_app
from tabrl.server.settings import get_settings


@pytest.mark.heavy  # a real worker process and training: ~70 s
def test_a_job_asked_for_no_video_trains_and_renders_none(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    body = {
        "scene_id": "CartpoleBalance",
        "steps": 2000,
        "overrides": {"num_envs": 64, "batch_size": 64, "num_evals": 2},
        "video": False,
    }
    with TestClient(
        create_app(get_settings(max_concurrent_jobs=1)), base_url="http://127.0.0.1:8000"
    ) as client:
        job = client.post("/api/training/start", json=body).json()
        deadline = time.monotonic() + 600
        while (status := client.get(f"/api/training/{job['id']}/status").json())["status"] not in (
            "succeeded", "failed", "cancelled",
        ):  # fmt: skip
            assert time.monotonic() < deadline, status
            time.sleep(1)
    assert status["status"] == "succeeded", status
    assert status["model_id"] and status["video_url"] is None, status
    kinds = [e.type for e in JobStore().events_after(job["id"])]
    assert "rendering" not in kinds and "video" not in kinds, kinds
