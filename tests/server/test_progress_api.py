"""A training progress event keeps its field names from the training engine to the API: the
evaluation reward is `eval_reward_mean` in the event, in the job store, in GET .../status (progress
and history) and on the job's WebSocket. No worker runs: the test reports as the train task does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tabrl.jobs.tasks import _progress
from tabrl.jobs.worker import JobContext
from tabrl.server import create_app
from tabrl.server.settings import get_settings
from tabrl.server.views import job_out
from tabrl.training.events import ProgressEvent


def _eval(step: int, reward: float) -> ProgressEvent:
    return ProgressEvent(
        kind="eval", run_id="r", scene_id="CartpoleBalance", step=step, total_steps=20_000, elapsed_s=step / 1000,
        eval_reward_mean=reward, eval_reward_std=0.5, reward_terms={"up": reward},
    )  # fmt: skip


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    # TestClient's WebSockets name the host "testserver": allowed explicitly, as a LAN name would be.
    app = create_app(get_settings(run_jobs=False, allowed_hosts=["testserver"]))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.timeout(120)
def test_a_training_progress_event_reaches_the_api_as_eval_reward_mean(client) -> None:
    store = client.app.state.store
    job = store.create(
        kind="train",
        scene_id="CartpoleBalance",
        request={"scene_id": "CartpoleBalance", "steps": 20_000},
        name="p",
    )
    store.mark_running(job.id, ref=None)
    ctx = JobContext(store, job.id, job.request)
    ctx.report(_progress(_eval(10_000, 12.5)))  # what train_task's on_event does with each event

    assert store.get(job.id).progress["eval_reward_mean"] == 12.5
    body = client.get(f"/api/training/{job.id}/status").json()
    assert body["progress"]["eval_reward_mean"] == 12.5 and "eval_reward" not in body["progress"]
    assert body["history"] == [
        {"step": 10_000, "eval_reward_mean": 12.5, "eval_reward_std": 0.5, "elapsed_s": 10.0}
    ]

    with client.websocket_connect(f"/api/training/{job.id}/events") as ws:
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot" and snapshot["job"]["progress"]["eval_reward_mean"] == 12.5
        ctx.report(_progress(_eval(20_000, 30.0)))
        live = ws.receive_json()
        assert live["type"] == "progress" and live["eval_reward_mean"] == 30.0 and "eval_reward" not in live
        store.finish(job.id, "succeeded", result={})
        while ws.receive_json()["type"] != "snapshot":
            pass


def test_progress_stored_under_the_old_name_still_reads(client) -> None:
    # Jobs stored before the rename called it `eval_reward`; the API reads them under the one name.
    store = client.app.state.store
    job = store.create(
        kind="train",
        scene_id="CartpoleBalance",
        request={"scene_id": "CartpoleBalance", "steps": 20_000},
        name="old",
    )
    store.set_progress(job.id, {"step": 10_000, "eval_reward": 7.0})
    out = job_out(store.get(job.id), store, 1)
    assert out.progress.eval_reward_mean == 7.0 and out.history[0].eval_reward_mean == 7.0
    assert "eval_reward" not in out.model_dump(mode="json")["progress"]
