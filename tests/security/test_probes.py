"""Every probe of issue 14 against a real `tabrl serve` (127.0.0.1, a free port, bounded loops).

Each test names the issue's point it covers. The server is shared; probes that would queue a
job only ever get 4xx answers, so no training runs here.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from authoring.fake_servers import FakeLLMServer, Reply

from .conftest import POLICY_ID, SERVER_KEYS, Server

pytestmark = pytest.mark.timeout(600)

GOOD_REWARD = (
    "def compute_reward(s, action):\n"
    '    return {"upright": s.body_upright("pole_1"), "effort": -0.1 * jnp.sum(action ** 2)}\n'
)


def _error_body(body: dict | None) -> None:
    """The documented error shape: {"error": kind, "message": one actionable line}, and on a 422 the
    invalid fields in `details`."""
    assert isinstance(body, dict) and set(body) - {"details"} == {"error", "message"}, body
    assert body["message"] and "\n" not in body["message"]
    for detail in body.get("details", [{"loc": [], "msg": "", "type": ""}]):
        assert set(detail) == {"loc", "msg", "type"}, body


# --- 1. keys only go to their provider's configured endpoint -----------------------------------


@pytest.mark.parametrize("provider,kind", [("anthropic", "anthropic"), ("openai", "openai")])
def test_1_caller_base_url_never_gets_the_server_key(server: Server, provider: str, kind: str) -> None:
    with FakeLLMServer(kind, [Reply("{}")]) as listener:
        body = {"scene_id": "CartpoleBalance", "prompt": "balance", "provider": provider}
        status, out, _ = server.request(
            "POST", "/api/policy/generate", {**body, "base_url": listener.base_url}
        )
        assert status == 400, out
        _error_body(out)
        assert "openai-compatible" in out["message"]
        # After selecting the provider as the default, a request's base URL is refused the same way.
        status, out, _ = server.request("POST", "/api/llm/select", {"provider": provider})
        assert status == 200, out
        status, out, _ = server.request(
            "POST",
            "/api/policy/generate",
            {"scene_id": "CartpoleBalance", "prompt": "x", "base_url": listener.base_url},
        )
        assert status == 400, out
        status, out, _ = server.request(
            "POST", "/api/llm/select", {"provider": provider, "base_url": listener.base_url}
        )
        assert status == 400, out
        server.request("POST", "/api/llm/select", {"provider": "offline"})
    assert listener.requests == []
    for key in SERVER_KEYS.values():
        assert key not in server.log_text()


def test_1_openai_compatible_caller_url_gets_no_server_key(server: Server) -> None:
    with FakeLLMServer("openai", [Reply("not json")]) as listener:
        body = {
            "scene_id": "CartpoleBalance",
            "prompt": "balance",
            "provider": "openai-compatible",
            "base_url": listener.base_url,
            "n": 1,
        }
        server.request("POST", "/api/policy/generate", body)
    assert listener.requests, "the caller's own local server is allowed"
    for req in listener.requests:
        for key in SERVER_KEYS.values():
            assert key not in json.dumps(req.headers)


# --- 2. rewards whose sum overflows -----------------------------------------------------------


def test_2_terms_that_overflow_when_summed_are_refused(server: Server) -> None:
    code = (
        "def compute_reward(s, action):\n"
        "    late = s.time > 1.0\n"
        '    return {"a": jnp.where(late, 3e38, 0.0), "b": jnp.where(late, 3e38, 0.0)}\n'
    )
    status, out, _ = server.request(
        "POST", "/api/rewards/check", {"scene_id": "CartpoleBalance", "code": code}
    )
    assert status == 200 and out["valid"] is False, out
    assert any("jnp.clip" in e["message"] for e in out["errors"]), out
    status, out, _ = server.request(
        "POST", "/api/training/start", {"scene_id": "CartpoleBalance", "reward_code": code, "steps": 10_000}
    )
    assert status == 422, out
    _error_body(out)


# --- 3. WebSocket inference frames --------------------------------------------------------------


def _bad_frames() -> list[str | bytes]:
    big = "1" + "0" * 400
    return [
        '{"observation": [' + big + ", 0, 0, 0, 0]}",
        '{"state": {"qpos": [0, 0], "qvel": [0, 0], "time": ' + big + "}}",
        '{"state": {"qpos": [' + big + ', 0], "qvel": [0, 0]}}',
        '{"observation": ' + "[" * 100_000 + "]" * 100_000 + "}",
        np.full(5, 3e38, "<f4").tobytes(),
        '{"observation": [1e400, 0, 0, 0, 0]}',
        '{"observation": [0, 0, 0]}',
        b"\x00\x01\x02",
        "[]",
        "not json",
    ]


def test_3_bad_inference_frames_get_errors_and_the_connection_stays_usable(server: Server) -> None:
    good = np.zeros(5, "<f4").tobytes()
    with connect(f"{server.ws}/api/models/{POLICY_ID}/inference", max_size=None, open_timeout=120) as ws:
        ready = json.loads(ws.recv(timeout=120))
        assert ready["ready"] and ready["obs_size"] == 5
        for frame in _bad_frames():
            ws.send(frame)
            reply = ws.recv(timeout=60)
            assert isinstance(reply, str), f"frame {frame[:40]!r} got an action: {reply!r}"
            assert "error" in json.loads(reply), reply
            ws.send(good)  # still usable after every bad frame
            action = np.frombuffer(ws.recv(timeout=60), "<f4")
            assert action.shape == (1,) and np.isfinite(action).all()
        ws.send(json.dumps({"state": {"qpos": [0.0, 0.1], "qvel": [0.0, 0.0]}}))
        out = json.loads(ws.recv(timeout=120))
        assert "action" in out and "observation" in out, out
    assert "Traceback" not in server.log_text()


# --- 4. ids validated at the edge ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/models/" + "a" * 300, "/api/models/" + "a" * 300 + "/export/onnx"])
def test_4_long_ids_are_4xx(server: Server, path: str) -> None:
    status, out, _ = server.request("GET", path)
    assert status in (404, 422), (status, out)
    _error_body(out)


def test_4_inference_websocket_with_a_long_id_answers_an_error(server: Server) -> None:
    with connect(f"{server.ws}/api/models/{'a' * 300}/inference", open_timeout=60) as ws:
        out = json.loads(ws.recv(timeout=60))
        assert "no model" in out["error"]
        with pytest.raises(Exception):  # noqa: B017 - then the server closes (code 4404)
            ws.recv(timeout=10)
    assert ws.close_code == 4404


# --- 5. what a worker would fail on is refused at submission ---------------------------------------


@pytest.mark.parametrize(
    "extra,status,words",
    [
        ({"overrides": {"bogus_key": 1}}, 422, "unknown training setting"),
        ({"overrides": {"num_envs": -5}}, 422, "num_envs"),
        ({"overrides": {"learning_rate": "fast"}}, 422, "learning_rate"),
        ({"overrides": {"num_envs": 1_000_000_000}}, 422, "num_envs"),
        ({"base_model_id": "no-such-model"}, 404, "no model"),
        ({"scene_id": "PendulumSwingup", "from_scratch": False}, 409, "no base policy"),
        ({"reward_code": "def compute_reward(s, action):\n    return {'t': s.time()}\n"}, 422, "line 2"),
    ],
)
def test_5_bad_training_requests_are_refused_at_submission(
    server: Server, extra: dict, status: int, words: str
) -> None:
    body = {"scene_id": "CartpoleBalance", "steps": 10_000, **extra}
    got, out, _ = server.request("POST", "/api/training/start", body)
    assert got == status, out
    _error_body(out)
    assert words in out["message"] or words in json.dumps(out), out
    got, jobs, _ = server.request("GET", "/api/training")
    assert got == 200 and jobs == [], "nothing was queued"


def test_5_batch_overrides_are_checked_too(server: Server) -> None:
    body = {
        "scene_id": "CartpoleBalance",
        "steps": 10_000,
        "overrides": {"bogus_key": 1},
        "approaches": [{"reward_code": GOOD_REWARD}],
    }
    got, out, _ = server.request("POST", "/api/training/batch", body)
    assert got == 422, out


# --- 6. base_model_id is a library id only -----------------------------------------------------------


@pytest.mark.parametrize("base", ["../runs/job_0123456789ab/policy", "/etc", "..", f"{POLICY_ID}/../x"])
def test_6_base_model_id_traversal_is_refused(server: Server, base: str) -> None:
    got, out, _ = server.request(
        "POST", "/api/training/start", {"scene_id": "CartpoleBalance", "steps": 10_000, "base_model_id": base}
    )
    assert got == 422, out
    _error_body(out)
    assert "GET /api/models" in out["message"]


# --- 7. scene ids, never file paths -----------------------------------------------------------


@pytest.mark.parametrize("scene", ["/etc/maven/settings.xml", "/etc/passwd", "../x.xml", "scene.xml"])
def test_7_scene_paths_are_refused_everywhere(server: Server, scene: str, tmp_path: Path) -> None:
    probes = [
        ("POST", "/api/rewards/check", {"scene_id": scene, "code": GOOD_REWARD}),
        ("GET", f"/api/training/presets?scene_id={scene}", None),
        ("POST", "/api/training/start", {"scene_id": scene, "steps": 10_000}),
        ("POST", "/api/policy/generate", {"scene_id": scene, "prompt": "walk"}),
    ]
    for method, path, body in probes:
        got, out, _ = server.request(method, path, body)
        assert got == 422, (path, out)
        _error_body(out)
        assert "tabrl scenes add" in out["message"], out


def test_7_registered_scene_ids_still_work(server: Server) -> None:
    got, out, _ = server.request("GET", "/api/training/presets?scene_id=CartpoleBalance")
    assert got == 200, out


# --- 8. limits -----------------------------------------------------------------------------------------


def test_8_compile_budget_refuses_huge_graphs_quickly(server: Server) -> None:
    chain = (
        "def compute_reward(s, action):\n    x = s.time\n    for _ in range(100):\n"
        "        for _ in range(160):\n            x = jnp.sin(x)\n    return {'x': x}\n"
    )
    matmul = (
        "def compute_reward(s, action):\n    m = jnp.ones((1000, 1000)) * s.time\n"
        "    for _ in range(100):\n        m = m @ m\n    return {'x': jnp.sum(m)}\n"
    )
    for code in (chain, matmul):
        start = time.monotonic()
        got, out, _ = server.request(
            "POST", "/api/rewards/check", {"scene_id": "CartpoleBalance", "code": code}
        )
        assert got == 200 and not out["valid"], out
        assert time.monotonic() - start < 15, "refused by the budget, not after compiling"
    assert server.proc.poll() is None, "the server survived"


def test_8_large_bodies_are_refused_on_every_route(server: Server) -> None:
    # A 200 MB upload is announced; the server answers 413 from the headers, without reading it.
    for method, path in [
        ("POST", "/api/rewards/check"),
        ("POST", "/api/training/start"),
        ("POST", "/api/policy/generate"),
        ("GET", "/api/health"),
        ("POST", "/api/nowhere"),
    ]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(
                f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
                + b'{"x": "'
                + b"a" * 65536
            )
            resp = http.client.HTTPResponse(sock)
            resp.begin()
            assert resp.status == 413, (path, resp.status)
            _error_body(json.loads(resp.read()))


def test_8_chunked_body_over_the_limit_is_refused(server: Server) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    chunks = (b"a" * 65536 for _ in range(48))  # 3 MiB, no Content-Length
    try:
        conn.request("POST", "/api/rewards/check", body=chunks, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 413
    except (ConnectionError, http.client.HTTPException):
        pass  # the server answered 413 and closed while the client was still sending
    finally:
        conn.close()


def test_8_slow_body_times_out(server: Server) -> None:
    from .conftest import BODY_TIMEOUT_S

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/rewards/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"scene_id": '
        )
        start = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - start
    assert b" 408 " in answer.split(b"\r\n", 1)[0], answer[:200]
    assert waited < BODY_TIMEOUT_S + 10


# --- 9. exposure ---------------------------------------------------------------------------------------


def test_9_foreign_host_header_is_refused(server: Server) -> None:
    for host in ("evil.example.com", "evil.example.com:80", "127.0.0.1.evil.example.com"):
        got, out, _ = server.request("GET", "/api/models", headers={"Host": host})
        assert got == 421, (host, out)
        _error_body(out)
    got, _, _ = server.request("GET", "/api/health", headers={"Host": f"localhost:{server.port}"})
    assert got == 200


def test_9_foreign_origin_is_refused_same_origin_allowed(server: Server) -> None:
    got, out, _ = server.request(
        "POST", "/api/llm/select", {"provider": "offline"}, headers={"Origin": "http://evil.example.com"}
    )
    assert got == 403, out
    _error_body(out)
    got, _, _ = server.request(
        "POST", "/api/llm/select", {"provider": "offline"}, headers={"Origin": server.url}
    )
    assert got == 200


def test_9_websocket_checks_origin(server: Server) -> None:
    with pytest.raises(InvalidStatus) as err:
        connect(
            f"{server.ws}/api/models/{POLICY_ID}/inference",
            origin="http://evil.example.com",  # type: ignore[arg-type]
            open_timeout=30,
        )
    assert err.value.response.status_code == 403
    with connect(
        f"{server.ws}/api/models/{POLICY_ID}/inference",
        origin=server.url,  # type: ignore[arg-type]
        open_timeout=120,
    ) as ws:
        assert json.loads(ws.recv(timeout=120))["ready"]


def test_9_token_is_required_on_every_route_and_websocket(token_server: Server) -> None:
    anonymous = dataclasses.replace(token_server, token=None)
    for method, path in [("GET", "/api/health"), ("GET", "/api/models"), ("GET", "/"), ("GET", "/docs")]:
        got, out, _ = anonymous.request(method, path)
        assert got == 401, (path, out)
        _error_body(out)
    got, _, _ = anonymous.request("GET", "/api/health", headers={"Authorization": "Bearer wrong"})
    assert got == 401
    assert token_server.request("GET", "/api/health")[0] == 200
    # ?token= once (the browser): the answer sets a cookie that later requests carry.
    conn = http.client.HTTPConnection("127.0.0.1", token_server.port, timeout=30)
    conn.request("GET", f"/api/health?token={token_server.token}")
    resp = conn.getresponse()
    resp.read()
    cookie = resp.getheader("set-cookie", "")
    assert resp.status == 200 and "HttpOnly" in cookie
    conn.request("GET", "/api/models", headers={"Cookie": cookie.split(";")[0]})
    assert conn.getresponse().status == 200
    conn.close()
    with pytest.raises(InvalidStatus):
        connect(f"{token_server.ws}/api/training/job_0123456789ab/events", open_timeout=30)
    with connect(f"{token_server.ws}/api/training/job_0123456789ab/events?token={token_server.token}") as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "error"


# --- 10. smaller -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/api/rewards/check", b'{"scene_id": "\xff\xfe", "code": "x"}'),
        ("POST", "/api/rewards/check", b"[" * 100_000 + b"]" * 100_000),
        ("POST", "/api/training/start", b'{"scene_id": '),
        ("GET", "/api/no/such/route", None),
        ("DELETE", "/api/health", None),
    ],
    ids=["invalid_utf8", "deep_json", "truncated_json", "unknown_route", "wrong_method"],
)
def test_10_errors_have_the_documented_shape(
    server: Server, method: str, path: str, body: bytes | None
) -> None:
    got, out, _ = server.request(method, path, body)
    assert 400 <= got < 500, (got, out)
    _error_body(out)


def test_10_rapid_websocket_open_close_logs_no_errors(server: Server) -> None:
    before = len(server.log_text())
    for i in range(50):
        with connect(f"{server.ws}/api/models/{POLICY_ID}/inference", open_timeout=60) as ws:
            if i % 2:
                ws.send(np.zeros(5, "<f4").tobytes())
        with connect(f"{server.ws}/api/training/job_0123456789ab/events", open_timeout=60):
            pass
    time.sleep(1.0)
    new = server.log_text()[before:]
    assert "ERROR" not in new and "Traceback" not in new, new[-3000:]


def test_10_base_url_port_out_of_range_is_refused(server: Server) -> None:
    got, out, _ = server.request(
        "POST",
        "/api/policy/generate",
        {
            "scene_id": "CartpoleBalance",
            "prompt": "x",
            "provider": "openai-compatible",
            "base_url": "http://127.0.0.1:99999/v1",
        },
    )
    assert got == 422, out
    _error_body(out)
    assert "65535" in out["message"]
