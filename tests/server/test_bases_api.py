"""Base policies and command programs over HTTP: /api/bases, /api/commands/*, command approaches in a
training batch, and budgets in /api/policy/generate. Jobs are created and queued (no worker runs)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tabrl.server import create_app
from tabrl.server.settings import get_settings

GO1 = "Go1JoystickFlatTerrain"
SQUARE = "def command(t):\n    return schedule(t, [(1.0, (0.6, 0.0, 0.0)), (1.0, (0.0, 0.0, 1.0))] * 4)\n"
IF_PROGRAM = "def command(t):\n    if t < 2.0:\n        return (0.6, 0.0, 0.0)\n    return (0.0, 0.0, 1.0)\n"
GO1_REWARD = """def compute_reward(s, action):
    return {"forward": s.body_linvel(s.base, local=True)[0], "up": s.body_upright(s.base)}
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def go1(home, go1_joystick_base):
    """The go1-joystick base (installed in this test's home when it is not shipped yet)."""
    return go1_joystick_base


@pytest.fixture
def task_base(home, go1, base_writer):
    """A Go1 base policy that follows its task, not commands (installed in this test's home)."""
    from tabrl.scenes.bases import get_base, user_dir

    base_writer(user_dir(), "go1-task", kind="task", command_range=None, like=go1.dir)
    return get_base("go1-task")


@pytest.fixture
def client(home):
    with TestClient(create_app(get_settings(run_jobs=False)), base_url="http://127.0.0.1:8000") as c:
        yield c


def test_list_bases(client, go1, task_base) -> None:
    resp = client.get("/api/bases")
    assert resp.status_code == 200, resp.text
    rows = {b["id"]: b for b in resp.json()}
    assert {"go1-joystick", "go1-task"} <= set(rows)
    joy, task = rows["go1-joystick"], rows["go1-task"]
    assert joy["kind"] == "joystick" and joy["scene_id"] == GO1 and len(joy["command_range"]) == 3
    assert joy["command_range"] == list(go1.command_range)
    assert task["kind"] == "task" and task["command_range"] is None and task["source"] == "installed"
    assert "dir" not in joy  # no server paths over the API
    assert {"title", "description", "reproduce", "backend", "steps", "trained_on"} <= set(joy)
    only = client.get("/api/bases", params={"scene_id": GO1}).json()
    assert {b["id"] for b in only} >= {"go1-joystick", "go1-task"} and {b["scene_id"] for b in only} == {GO1}
    assert client.get("/api/bases", params={"scene_id": "CheetahRun"}).json() == []
    assert client.get("/api/bases", params={"scene_id": "../etc"}).status_code == 422


def test_check_a_valid_program_gives_a_preview(client, go1) -> None:
    resp = client.post("/api/commands/check", json={"base_id": "go1-joystick", "code": SQUARE, "seconds": 3})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["valid"] and body["errors"] == [] and body["warnings"] == []
    preview = body["preview"]
    assert len(preview) == 30 and all(len(row) == 4 for row in preview)
    assert [row[0] for row in preview[:3]] == [0.0, 0.1, 0.2]
    assert preview[0][1:] == [0.6, 0.0, 0.0]  # walking
    assert preview[15][1:] == [0.0, 0.0, 1.0]  # turning, at t = 1.5 s
    assert preview[25][1:] == [0.6, 0.0, 0.0]


def test_check_clips_to_the_base_range(client, go1) -> None:
    code = "def command(t):\n    return (5.0, 0.0, 0.0)\n"
    body = client.post("/api/commands/check", json={"base_id": "go1-joystick", "code": code}).json()
    assert body["valid"] and body["warnings"] and "clipped" in body["warnings"][0]
    assert len(body["preview"]) == 100  # 10 s by default, every 0.1 s
    assert {row[1] for row in body["preview"]} == {go1.command_range[0]}


def test_check_an_invalid_program_gives_lines(client, go1) -> None:
    resp = client.post("/api/commands/check", json={"base_id": "go1-joystick", "code": IF_PROGRAM})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert not body["valid"] and body["preview"] == []
    assert body["errors"][0]["line"] == 2 and "jnp.where" in body["errors"][0]["message"]


def test_check_unknown_and_task_bases(client, go1, task_base) -> None:
    resp = client.post("/api/commands/check", json={"base_id": "no-such-base", "code": SQUARE})
    assert resp.status_code == 404, resp.text
    assert "go1-joystick" in resp.json()["message"]  # lists what exists
    resp = client.post("/api/commands/check", json={"base_id": "go1-task", "code": SQUARE})
    assert resp.status_code in (409, 422), resp.text
    assert "joystick" in resp.json()["message"] and "go1-task" in resp.json()["message"]


def test_play_creates_a_command_model_and_a_render_job(client, go1, home) -> None:
    resp = client.post(
        "/api/commands/play", json={"base_id": "go1-joystick", "commands": SQUARE, "name": "square"}
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    model, job = body["model"], body["job"]
    assert model["level"] == "command" and model["commands"] == SQUARE and model["scene_id"] == GO1
    assert model["name"] == "square" and model["base_policy"]["scene_id"] == GO1
    assert job["kind"] == "render" and job["status"] == "queued" and job["scene_id"] == GO1
    # The model is in the library at once, with its files.
    listed = {m["id"]: m for m in client.get("/api/models").json()}
    assert model["id"] in listed and listed[model["id"]]["level"] == "command"
    folder = home / "policies" / model["id"]
    assert (folder / "params.msgpack").read_bytes() == (go1.dir / "params.msgpack").read_bytes()
    assert (folder / "commands.py").read_text() == SQUARE
    status = client.get(f"/api/training/{job['id']}/status").json()
    assert status["status"] == "queued" and status["terminal"] is False


def test_play_refuses_bad_programs_and_task_bases(client, go1, task_base) -> None:
    resp = client.post("/api/commands/play", json={"base_id": "go1-joystick", "commands": IF_PROGRAM})
    assert resp.status_code == 422, resp.text
    assert "line 2" in resp.json()["message"] or "jnp.where" in resp.json()["message"]
    resp = client.post("/api/commands/play", json={"base_id": "go1-task", "commands": SQUARE})
    assert resp.status_code in (409, 422), resp.text
    assert client.get("/api/models").json() == []
    assert client.get("/api/training").json() == []


def test_batch_with_a_command_and_a_training_approach(client, go1) -> None:
    body = {
        "scene_id": GO1,
        "steps": 20_000,
        "approaches": [
            {"name": "Square", "level": "command", "commands": SQUARE, "base_id": "go1-joystick"},
            {"name": "Forward", "level": "from_scratch", "reward_code": GO1_REWARD},
        ],
    }
    resp = client.post("/api/training/batch", json=body)
    assert resp.status_code == 201, resp.text
    batch = resp.json()
    render, train = batch["jobs"]
    assert render["kind"] == "render" and render["name"] == "Square" and render["status"] == "queued"
    assert train["kind"] == "train" and train["name"] == "Forward" and train["status"] == "queued"
    assert render["batch_id"] == train["batch_id"] == batch["batch_id"]
    listed = client.get("/api/training", params={"batch_id": batch["batch_id"]}).json()
    assert {j["id"] for j in listed} == {render["id"], train["id"]}
    # The command approach is a model already.
    models = client.get("/api/models").json()
    assert [m["level"] for m in models] == ["command"] and models[0]["commands"] == SQUARE


def test_batch_command_approach_without_base_id_uses_the_scene_joystick(client, go1) -> None:
    body = {"scene_id": GO1, "approaches": [{"name": "Square", "level": "command", "commands": SQUARE}]}
    resp = client.post("/api/training/batch", json=body)
    assert resp.status_code == 201, resp.text
    assert [j["kind"] for j in resp.json()["jobs"]] == ["render"]


def test_batch_refuses_bad_command_approaches(client, go1) -> None:
    # No program.
    body = {"scene_id": GO1, "approaches": [{"name": "Square", "level": "command"}]}
    resp = client.post("/api/training/batch", json=body)
    assert resp.status_code == 422 and "commands" in resp.json()["message"], resp.text
    # An invalid program refuses the whole batch: nothing is created.
    body = {
        "scene_id": GO1,
        "steps": 20_000,
        "approaches": [
            {"name": "Forward", "level": "from_scratch", "reward_code": GO1_REWARD},
            {"name": "Bad", "level": "command", "commands": IF_PROGRAM},
        ],
    }
    resp = client.post("/api/training/batch", json=body)
    assert resp.status_code == 422, resp.text
    assert client.get("/api/training").json() == [] and client.get("/api/models").json() == []
    # A scene without a joystick base.
    body = {"scene_id": "CartpoleBalance", "approaches": [{"level": "command", "commands": SQUARE}]}
    resp = client.post("/api/training/batch", json=body)
    assert resp.status_code == 409 and "joystick" in resp.json()["message"], resp.text
    # A training approach still needs its reward.
    body = {"scene_id": GO1, "approaches": [{"name": "x", "level": "fine_tune"}]}
    assert client.post("/api/training/batch", json=body).status_code == 422


def test_generate_instant_gives_command_approaches(client, go1) -> None:
    resp = client.post(
        "/api/policy/generate", json={"scene_id": GO1, "prompt": "walk in a square", "budget": "instant"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["budget"] == "instant" and len(body["approaches"]) == 3
    for a in body["approaches"]:
        assert a["level"] == "command" and a["valid"] and a["commands"] and a["reward_code"] == ""
        assert a["steps"] == 0 and a["estimate_s"] == 0 and a["base_id"] == "go1-joystick" and a["why"]
    # The answer goes straight into a batch.
    batch = {
        "scene_id": GO1,
        "approaches": [
            {"name": a["name"], "level": a["level"], "commands": a["commands"], "base_id": a["base_id"]}
            for a in body["approaches"]
        ],
    }
    resp = client.post("/api/training/batch", json=batch)
    assert resp.status_code == 201, resp.text
    assert [j["kind"] for j in resp.json()["jobs"]] == ["render"] * 3
    assert (
        client.post(
            "/api/policy/generate", json={"scene_id": GO1, "prompt": "x", "budget": "soon"}
        ).status_code
        == 422
    )


def test_preview_of_a_valid_program_is_all_numbers(client, go1) -> None:
    """A preview covers only the span the check ran over (60 s): longer is refused, and a program
    reported valid has a preview of finite numbers."""
    code = "def command(t):\n    return (0.1 * jnp.log(90.0 - t), 0.0, 0.0)\n"  # NaN after 90 s
    resp = client.post("/api/commands/check", json={"base_id": "go1-joystick", "code": code, "seconds": 120})
    assert resp.status_code == 422, resp.text
    resp = client.post("/api/commands/check", json={"base_id": "go1-joystick", "code": code, "seconds": 60})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    bad = [row for row in body["preview"] if any(v is None for v in row)]
    assert body["valid"] and len(body["preview"]) == 600 and not bad, body["preview"][:2]
