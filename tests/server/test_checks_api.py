"""Success checks over HTTP: refused at submission with their lines, and a batch ranked by them.
Jobs are created and queued (no worker runs); verdicts are written as a worker would."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tabrl.server import create_app
from tabrl.server.settings import get_settings

SCENE = "CartpoleBalance"
REWARD = 'def compute_reward(s, action):\n    return {"up": s.body_upright("pole_1")}\n'
CHECK = 'def measure(s):\n    return {"up": s.body_upright("pole_1") > 0.9}\n\nGOALS = {"up": ">= 0.9"}\n'


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    with TestClient(create_app(get_settings(run_jobs=False)), base_url="http://127.0.0.1:8000") as c:
        yield c


def _batch(client, checks: list[str | None]):
    approaches = [
        {
            "name": f"a{i}",
            "reward_code": REWARD,
            "level": "from_scratch",
            **({"success_check": c} if c else {}),
        }
        for i, c in enumerate(checks)
    ]
    return client.post(
        "/api/training/batch", json={"scene_id": SCENE, "steps": 20_000, "approaches": approaches}
    )


def test_a_broken_success_check_refuses_the_batch_with_its_line(client) -> None:
    resp = _batch(client, [CHECK, CHECK.replace('{"up": ">= 0.9"}', '{"upp": ">= 0.9"}')])
    assert resp.status_code == 422, resp.text
    assert "success check rejected: line 4: GOALS names 'upp'" in resp.json()["message"]
    assert client.get("/api/training").json() == []  # nothing was created


def test_the_batch_is_ranked_by_its_verdicts(client) -> None:
    resp = _batch(client, [CHECK, CHECK, None])
    assert resp.status_code == 201, resp.text
    jobs = resp.json()["jobs"]
    store = client.app.state.store
    near = {"passed": False, "score": 0.8, "figure": "up 0.70 (>= 0.9 ✗)", "values": {"up": 0.7},
            "goals": {"up": ">= 0.9"}, "met": {"up": False}, "fell": 0.0, "pass_rate": 0.25,
            "rollouts": 8, "seconds": 10.0}  # fmt: skip
    passed = {**near, "passed": True, "score": 1.0, "figure": "up 0.95 (>= 0.9)", "values": {"up": 0.95},
              "met": {"up": True}, "pass_rate": 1.0}  # fmt: skip
    store.update_result(jobs[0]["id"], check=near)
    store.update_result(jobs[1]["id"], check=passed)
    ranked = client.get(f"/api/training/batch/{resp.json()['batch_id']}").json()["jobs"]
    assert [j["id"] for j in ranked] == [jobs[1]["id"], jobs[0]["id"], jobs[2]["id"]]
    assert [j["rank"] for j in ranked] == [1, 2, 3]
    assert ranked[0]["check"]["passed"] and ranked[0]["check"]["figure"] == "up 0.95 (>= 0.9)"
    assert ranked[2]["check"] is None
    one = client.get(f"/api/training/{jobs[0]['id']}/status").json()
    assert one["check"]["score"] == 0.8 and one["rank"] is None


def test_unknown_batch_is_404(client) -> None:
    resp = client.get("/api/training/batch/batch_0123abcd")
    assert resp.status_code == 404 and "POST /api/training/batch" in resp.text


def test_a_success_check_is_checked_on_its_own(client) -> None:
    ok = client.post("/api/rewards/check-success", json={"scene_id": SCENE, "code": CHECK})
    assert ok.status_code == 200 and ok.json()["valid"] and ok.json()["terms"] == ["up"]
    bad = client.post(
        "/api/rewards/check-success", json={"scene_id": SCENE, "code": CHECK.replace("pole_1", "pole_9")}
    )
    body = bad.json()
    assert bad.status_code == 200 and not body["valid"] and body["errors"][0]["line"] == 2
    assert "pole_9" in body["errors"][0]["message"]
    assert (
        client.post("/api/rewards/check-success", json={"scene_id": "Nope", "code": CHECK}).status_code == 404
    )
