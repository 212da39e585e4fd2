"""The server's edge in process: exposure settings and the job history view (issue 14, points 9, 10).

The probes against a real `tabrl serve` are in tests/security; these cover what needs no socket:
a server configured for a non-loopback address (never bound here) and the history of a resumed job.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tabrl.errors import TabRLError
from tabrl.jobs.store import JobStore
from tabrl.server import create_app
from tabrl.server.settings import get_settings
from tabrl.server.views import job_out


def test_binding_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(TabRLError, match="TABRL_TOKEN"):
        create_app(get_settings(host="0.0.0.0", run_jobs=False))


def test_beyond_loopback_every_route_needs_the_token() -> None:
    app = create_app(get_settings(host="0.0.0.0", token="t0ken-0123456789", run_jobs=False))
    with TestClient(app, base_url="http://192.168.1.20:8000") as client:
        for path in ("/api/health", "/api/models", "/docs", "/openapi.json", "/api/nowhere"):
            res = client.get(path)
            assert res.status_code == 401, path
            assert set(res.json()) == {"error", "message"} and "token" in res.json()["message"]
        ok = client.get("/api/health", headers={"Authorization": "Bearer t0ken-0123456789"})
        assert ok.status_code == 200
        with (
            pytest.raises(Exception),  # noqa: B017 - the handshake is refused
            client.websocket_connect("/api/training/job_0123456789ab/events"),
        ):
            pass
        with client.websocket_connect("/api/training/job_0123456789ab/events?token=t0ken-0123456789") as ws:
            assert ws.receive_json()["type"] == "error"


def test_loopback_without_token_keeps_working_for_the_web_ui() -> None:
    with TestClient(create_app(get_settings(run_jobs=False)), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/health").status_code == 200
        same_origin = {"Origin": "http://127.0.0.1:8000"}
        assert (
            client.post("/api/llm/select", json={"provider": "offline"}, headers=same_origin).status_code
            == 200
        )
        vite = {"Origin": "http://localhost:5173"}  # the dev server, in TABRL_CORS_ORIGINS by default
        assert client.post("/api/llm/select", json={"provider": "offline"}, headers=vite).status_code == 200


def test_resumed_job_history_has_one_point_per_step() -> None:
    store = JobStore()
    job = store.create(
        kind="train",
        scene_id="CartpoleBalance",
        request={"scene_id": "CartpoleBalance", "steps": 30_000},
        name="h",
    )
    for step, reward in [(0, 1.0), (10_000, 5.0), (20_000, 9.0)]:
        store.set_progress(job.id, {"step": step, "eval_reward_mean": reward})
    # Interrupted, resumed from the checkpoint at 20,000: the resumed run evaluates that step again.
    for step, reward in [(20_000, 9.5), (30_000, 12.0)]:
        store.set_progress(job.id, {"step": step, "eval_reward_mean": reward})
    history = job_out(store.get(job.id), store, 3).history
    assert [p.step for p in history] == [0, 10_000, 20_000, 30_000]
    assert history[2].eval_reward_mean == 9.5


def test_loopback_detection_and_other_loopback_addresses() -> None:
    from tabrl.server.security import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "example.com"))
    # Bound to another loopback address: that name is accepted, foreign ones are not.
    app = create_app(get_settings(host="127.0.0.2", run_jobs=False))
    with TestClient(app, base_url="http://127.0.0.2:8000") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health", headers={"Host": "rebind.example.com"}).status_code == 421
