"""Schemathesis against the OpenAPI schema: no generated request may produce a 5xx.

Jobs are only queued (no scheduler), so no training runs; request bodies that pass the
schema still reach the real handlers (scene lookup, reward checks, model library...).
"""

from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

# A private home for the app under test, before the app (and its database) is created.
os.environ.setdefault("TABRL_HOME", tempfile.mkdtemp(prefix="tabrl-fuzz-"))

from tabrl.server import create_app
from tabrl.server.settings import get_settings

# The ASGI transport calls itself "testserver": named explicitly, as a person names a LAN host.
app = create_app(get_settings(run_jobs=False, allowed_hosts=["testserver"]))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.timeout(900)
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )


# --- the adversarial payloads of issue 14, through the same schema and transport ------------------

CHAIN = "def compute_reward(s, action):\n    x = s.time\n    for _ in range(100):\n        for _ in range(160):\n            x = jnp.sin(x)\n    return {'x': x}\n"
OVERFLOW = "def compute_reward(s, action):\n    return {'a': jnp.where(s.time > 1.0, 3e38, 0.0), 'b': jnp.where(s.time > 1.0, 3e38, 0.0)}\n"
TRAIN = {"scene_id": "CartpoleBalance", "steps": 10_000}
ADVERSARIAL = [
    # 1: a caller's base URL for a keyed provider; 10: a port out of range
    (
        "/api/policy/generate",
        "POST",
        {
            "body": {
                "scene_id": "CartpoleBalance",
                "prompt": "x",
                "provider": "anthropic",
                "base_url": "http://127.0.0.1:18999",
            }
        },
        400,
    ),
    ("/api/llm/select", "POST", {"body": {"provider": "openai", "base_url": "http://127.0.0.1:18999"}}, 400),
    (
        "/api/policy/generate",
        "POST",
        {
            "body": {
                "scene_id": "CartpoleBalance",
                "prompt": "x",
                "provider": "openai-compatible",
                "base_url": "http://127.0.0.1:99999/v1",
            }
        },
        422,
    ),
    # 4: long ids
    ("/api/models/{model_id}", "GET", {"path_parameters": {"model_id": "a" * 300}}, 422),
    ("/api/models/{model_id}/export/onnx", "GET", {"path_parameters": {"model_id": "a" * 300}}, 422),
    ("/api/models/{model_id}", "GET", {"path_parameters": {"model_id": "a" * 150}}, 404),
    # 5: what a worker would fail on
    ("/api/training/start", "POST", {"body": {**TRAIN, "overrides": {"bogus_key": 1}}}, 422),
    ("/api/training/start", "POST", {"body": {**TRAIN, "overrides": {"num_envs": -5}}}, 422),
    ("/api/training/start", "POST", {"body": {**TRAIN, "overrides": {"learning_rate": "fast"}}}, 422),
    ("/api/training/start", "POST", {"body": {**TRAIN, "overrides": {"num_envs": 1_000_000_000}}}, 422),
    ("/api/training/start", "POST", {"body": {**TRAIN, "base_model_id": "no-such-model"}}, 404),
    (
        "/api/training/start",
        "POST",
        {"body": {**TRAIN, "scene_id": "PendulumSwingup", "from_scratch": False}},
        409,
    ),
    (
        "/api/training/start",
        "POST",
        {"body": {**TRAIN, "reward_code": "def compute_reward(s, action):\n    return {'t': s.time()}\n"}},
        422,
    ),
    # 6: traversal; 7: file paths as scenes
    (
        "/api/training/start",
        "POST",
        {"body": {**TRAIN, "base_model_id": "../runs/job_0123456789ab/policy"}},
        422,
    ),
    ("/api/rewards/check", "POST", {"body": {"scene_id": "/etc/maven/settings.xml", "code": OVERFLOW}}, 422),
    ("/api/training/presets", "GET", {"query": {"scene_id": "/etc/maven/settings.xml"}}, 422),
    ("/api/training/start", "POST", {"body": {**TRAIN, "scene_id": "/tmp/x.xml"}}, 422),
    # 2 and 8: magnitudes and the compile budget (valid requests, invalid rewards)
    ("/api/rewards/check", "POST", {"body": {"scene_id": "CartpoleBalance", "code": OVERFLOW}}, 200),
    ("/api/rewards/check", "POST", {"body": {"scene_id": "CartpoleBalance", "code": CHAIN}}, 200),
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "path,method,kwargs,status",
    ADVERSARIAL,
    ids=[f"{m} {p} {i}" for i, (p, m, _, _) in enumerate(ADVERSARIAL)],
)
def test_adversarial_payloads(path: str, method: str, kwargs: dict, status: int) -> None:
    response = schema[path][method].Case(**kwargs).call()
    assert response.status_code == status, response.text[:500]
    body = response.json()
    if status == 200:
        assert body["valid"] is False and body["errors"], body
    else:  # the one error shape; `details` lists the fields of a request that failed validation
        invalid = body.get("error") == "invalid_request"
        assert set(body) == ({"error", "message", "details"} if invalid else {"error", "message"}), body
