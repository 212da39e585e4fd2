"""POST /api/training/batch/{id}/refine: the next round of a finished batch, linked to it.
Jobs are created and queued (no worker runs); verdicts and ends are written as a worker would."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tabrl.server import create_app
from tabrl.server.settings import get_settings

SCENE = "CartpoleBalance"
REWARD = (
    'WEIGHTS = {"up": 1.0}\n\n\ndef compute_reward(s, action):\n'
    '    return {"up": tolerance(s.body_upright("pole_1"), bounds=(0.95, 1.0), margin=0.5)}\n'
)
CHECK = (
    "def measure(s):\n"
    '    return {"cart_x": s.joint_angle("slider"), "up": s.body_upright("pole_1") > 0.9}\n\n\n'
    'GOALS = {"cart_x": "> 0.3", "up": ">= 0.9"}\n'
)
VERDICT = {"passed": False, "score": 0.6, "figure": "cart_x 0.01 (> 0.3 ✗), up 0.97 (>= 0.9)",
           "values": {"cart_x": 0.01, "up": 0.97}, "goals": {"cart_x": "> 0.3", "up": ">= 0.9"},
           "met": {"cart_x": False, "up": True}, "fell": 0.0, "pass_rate": 0.0, "rollouts": 8,
           "seconds": 10.0}  # fmt: skip


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    monkeypatch.setenv("TABRL_SETTINGS", str(tmp_path / "settings.toml"))  # offline
    with TestClient(create_app(get_settings(run_jobs=False)), base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.mark.timeout(600)
def test_refine_creates_the_next_round_linked_to_its_parent(client) -> None:
    approaches = [{"name": f"Upright {i}", "reward_code": REWARD, "level": "from_scratch",
                   "success_check": CHECK} for i in range(2)]  # fmt: skip
    resp = client.post("/api/training/batch", json={"scene_id": SCENE, "steps": 20_000, "approaches": approaches,
                                                    "prompt": "keep the cart right"})  # fmt: skip
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert first["round"] == 1 and first["parent_batch_id"] is None
    url = f"/api/training/batch/{first['batch_id']}/refine"
    busy = client.post(url, json={})
    assert busy.status_code == 409 and "still training" in busy.json()["message"]
    store = client.app.state.store
    for job in first["jobs"]:
        store.finish(job["id"], "succeeded", result={"check": VERDICT, "eval_reward": 100.0})
    resp = client.post(url, json={"provider": "offline"})
    assert resp.status_code == 201, resp.text
    second = resp.json()
    assert second["round"] == 2 and second["parent_batch_id"] == first["batch_id"]
    assert sorted(j["name"] for j in second["jobs"]) == [
        "Upright 0 (+cart_x term)",
        "Upright 1 (+cart_x term)",
    ]
    assert "goal_cart_x" in second["jobs"][0]["reward_code"]
    # The next round trains as long as the first did (its steps were planned for the budget then).
    assert [j["total_steps"] for j in second["jobs"]] == [20_000, 20_000]
    again = client.get(f"/api/training/batch/{second['batch_id']}").json()
    assert again["round"] == 2 and again["parent_batch_id"] == first["batch_id"]
    assert client.get(f"/api/training/batch/{first['batch_id']}").json()["round"] == 1
    assert client.post("/api/training/batch/batch_0123abcd/refine").status_code == 404
