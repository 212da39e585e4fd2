"""The live view's server loop: pacing to real time, pause / reset / push / joystick messages, browser
actions, and errors -- on a fake simulation (fast, exact) and on the Go1 joystick base over the API."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tabrl.errors import TabRLError
from tabrl.server import create_app
from tabrl.server.live import MAX_LATE_STEPS, LiveLoop, parse_control
from tabrl.server.settings import get_settings
from tabrl.training.live import LiveSim

STAND = "def command(t):\n    return (0.0, 0.0, 0.0)\n"
WALK = "def command(t):\n    return (0.5, 0.0, 0.0)\n"


class FakeSim(LiveSim):
    """A 1-D point: qpos = [x]; the action (or the policy's +1) sets the velocity. Steps are counted."""

    def __init__(self, dt: float = 0.01, command_range: tuple[float, float, float] | None = None) -> None:
        self.dt, self.action_size, self.scene_id = dt, 1, "Fake"
        self.command_range, self.joystick, self.has_program = command_range, None, command_range is not None
        self.floating_base = False
        self.rng = np.random.default_rng(0)
        self.x, self.v, self.t, self.actions = 0.0, 0.0, 0.0, []

        class _Model:
            nq = nv = 1

        self.mj_model = _Model()

    @property
    def observation(self) -> np.ndarray:
        return np.array([self.x], np.float32)

    @property
    def command(self) -> np.ndarray | None:
        if self.command_range is None:
            return None
        return self.joystick if self.joystick is not None else np.array([0.3, 0.0, 0.0], np.float32)

    def qpos(self) -> np.ndarray:
        return np.array([self.x])

    def time(self) -> float:
        return self.t

    def step(self, action: np.ndarray | None = None) -> bool:
        self.actions.append(None if action is None else float(action[0]))
        self.v = 1.0 if action is None else float(action[0])
        self.x += self.v * self.dt
        self.t += self.dt
        return False

    def reset(self) -> None:
        self.x, self.v, self.t = 0.0, 0.0, 0.0

    def _kick(self, dqvel: np.ndarray) -> None:
        self.x += 100.0 * float(dqvel[0])  # visible at once in qpos


async def _session(sim: LiveSim, script, *, actions: str = "server", seconds: float = 1.0) -> list[dict]:
    """Run a loop for `seconds` while `script(loop, frames)` sends controls; the frames it sent."""
    frames: list[dict] = []

    async def send(frame: dict) -> None:
        frames.append(json.loads(json.dumps(frame)))  # what goes over the wire

    loop = LiveLoop(sim, send, actions=actions)
    task = asyncio.ensure_future(loop.run())
    try:
        await script(loop, frames)
        await asyncio.sleep(max(0.0, seconds))
    finally:
        loop.close()
        await asyncio.wait_for(task, 5)
    return frames


async def _nothing(_loop, _frames) -> None:
    return None


def test_paced_to_real_time_not_faster() -> None:
    sim = FakeSim(dt=0.01)
    start = time.perf_counter()
    frames = asyncio.run(_session(sim, _nothing, seconds=1.0))
    wall = time.perf_counter() - start
    steps = frames[-1]["step"]
    # Never ahead of the wall clock by more than a tick (an unpaced loop would take thousands of steps),
    # and not far behind (loose: the machine may be busy).
    assert steps <= wall / sim.dt + 3, (steps, wall)
    assert steps >= 0.6 / sim.dt, (steps, wall)
    assert 0.6 <= frames[-1]["rtf"] <= 1.05
    assert frames[-1]["capacity"] > 1.0
    assert [f["step"] for f in frames] == sorted(f["step"] for f in frames)
    assert frames[-1]["t"] == pytest.approx(steps * sim.dt)


def test_pause_resume_reset_push() -> None:
    sim = FakeSim(dt=0.01)

    async def script(loop: LiveLoop, frames: list[dict]) -> None:
        await asyncio.sleep(0.3)
        loop.handle({"type": "pause"})
        await asyncio.sleep(0.05)
        paused_at = frames[-1]["step"]
        await asyncio.sleep(0.3)
        assert frames[-1]["step"] == paused_at and frames[-1]["paused"]  # no steps while paused
        loop.handle({"type": "reset"})
        await asyncio.sleep(0.05)
        assert frames[-1]["qpos"] == [0.0] and frames[-1]["t"] == 0.0  # shown at once, still paused
        loop.handle({"type": "push", "strength": 1.0})
        await asyncio.sleep(0.05)
        assert abs(frames[-1]["qpos"][0]) > 1.0  # the kick moved it
        loop.handle({"type": "resume"})

    frames = asyncio.run(_session(sim, script, seconds=0.3))
    assert not frames[-1]["paused"] and frames[-1]["step"] > frames[0]["step"]


def test_joystick_overrides_the_program_and_gives_it_back() -> None:
    sim = FakeSim(command_range=(1.0, 0.5, 1.0))

    async def script(loop: LiveLoop, frames: list[dict]) -> None:
        await asyncio.sleep(0.1)
        assert frames[-1]["driver"] == "program" and frames[-1]["command"] == pytest.approx([0.3, 0, 0])
        assert loop.handle(parse_control(json.dumps({"type": "command", "value": [5, 0, -0.4]}))) is None
        await asyncio.sleep(0.1)
        assert frames[-1]["driver"] == "joystick"
        assert frames[-1]["command"] == pytest.approx([1.0, 0.0, -0.4])  # clipped to the range
        loop.handle(parse_control(json.dumps({"type": "command", "value": None})))
        await asyncio.sleep(0.1)
        assert frames[-1]["driver"] == "program"

    asyncio.run(_session(sim, script, seconds=0.0))


def test_browser_actions_are_pipelined() -> None:
    sim = FakeSim(dt=0.01)
    seen: dict[str, int] = {}

    async def script(loop: LiveLoop, frames: list[dict]) -> None:
        await asyncio.sleep(0.2)
        assert frames[-1]["step"] == 0 and frames[-1]["obs"] == [0.0]  # waits for the first answer
        loop.handle({"type": "action", "value": np.array([0.5]), "seq": frames[-1]["seq"] - 1})
        await asyncio.sleep(0.1)
        assert frames[-1]["step"] == 0  # an answer to an older frame does not act
        start = time.perf_counter()
        for _ in range(20):  # the page answers every frame, at once
            loop.handle({"type": "action", "value": np.array([-3.0]), "seq": frames[-1]["seq"]})
            await asyncio.sleep(0.01)
        seen["answered_steps"] = round((time.perf_counter() - start) / sim.dt)
        await asyncio.sleep(0.2)  # it stops answering
        seen["stopped"] = frames[-1]["step"]
        await asyncio.sleep(0.2)
        seen["later"] = frames[-1]["step"]

    frames = asyncio.run(_session(sim, script, actions="browser", seconds=0.0))
    assert set(sim.actions) == {-1.0}  # the page's actions, clipped to [-1, 1]
    # Real time while the page keeps up, then at most a few steps on its last answer, then it waits.
    assert 12 <= seen["stopped"] <= seen["answered_steps"] + 2 + MAX_LATE_STEPS, seen
    assert seen["later"] == seen["stopped"], seen
    assert 0.0 < frames[-1]["on_time"] <= 1.0 and frames[-1]["answer_ms"] >= 0


def test_bad_controls_are_errors_not_failures() -> None:
    assert "not JSON" in parse_control("{")["error"]
    assert "unknown message" in parse_control('{"type": "fly"}')["error"]
    assert "finite" in parse_control('{"type": "push", "strength": "hard"}')["error"]
    assert "list of numbers" in parse_control('{"type": "command", "value": "left"}')["error"]
    assert "over" in parse_control(" " * 20_000)["error"]
    sim = FakeSim()
    loop = LiveLoop(sim, _nothing)  # type: ignore[arg-type]
    assert "velocity commands" in loop.handle({"type": "command", "value": np.zeros(3)})
    assert "actions=browser" in loop.handle({"type": "action", "value": np.zeros(1), "seq": 0})
    with pytest.raises(TabRLError, match=r"push strength"):
        sim.push(50.0)
    with pytest.raises(TabRLError, match=r"actions must be one of"):
        LiveLoop(sim, _nothing, actions="robot")  # type: ignore[arg-type]
    browser = LiveLoop(sim, _nothing, actions="browser")  # type: ignore[arg-type]
    assert "1 numbers" in browser.handle({"type": "action", "value": np.zeros(3), "seq": 0})


# --- over the API, on the Go1 joystick base -------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("live-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("TABRL_HOME", str(home))
    # TestClient's WebSockets name the host "testserver".
    app = create_app(get_settings(run_jobs=False, allowed_hosts=["testserver"]))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c
    mp.undo()


def _play(client: TestClient, code: str) -> str:
    resp = client.post("/api/commands/play", json={"base_id": "go1-joystick", "commands": code})
    assert resp.status_code == 201, resp.text
    return resp.json()["model"]["id"]


def _frames(ws, n: int) -> list[dict]:
    out = []
    while len(out) < n:
        msg = ws.receive_json()
        assert msg["type"] != "error", msg
        out.append(msg)
    return out


def _yaw(qpos: list[float]) -> float:
    w, x, y, z = qpos[3:7]
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def test_unknown_model_and_bad_actions_are_refused(client) -> None:
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/api/models/NoSuchModel-1/live") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and "no model" in msg["error"] and "GET /api/models" in msg["error"]
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4404
    with client.websocket_connect("/api/models/x/live?actions=robot") as ws:
        assert "actions must be one of" in ws.receive_json()["error"]


def test_go1_program_joystick_push_reset_over_the_api(client, go1_joystick_base) -> None:
    model_id = _play(client, WALK)
    with client.websocket_connect(f"/api/models/{model_id}/live") as ws:
        assert ws.receive_json()["type"] == "loading"
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["dt"] == pytest.approx(0.02) and ready["nq"] == 19
        assert ready["program"] is True and ready["command_range"] == list(go1_joystick_base.command_range)
        first = _frames(ws, 1)[0]
        start = time.perf_counter()
        frames = _frames(ws, 100)
        wall = time.perf_counter() - start
        # Paced: the simulated time follows the wall clock (never ahead of it), and it says so.
        simulated = (frames[-1]["step"] - first["step"]) * ready["dt"]
        assert 0.8 * wall <= simulated <= wall + 0.05, (simulated, wall)
        assert 0.8 <= frames[-1]["rtf"] <= 1.05
        assert frames[-1]["driver"] == "program" and frames[-1]["command"] == pytest.approx([0.5, 0, 0])

        ws.send_text('{"type": "command", "value": [0, 0, 1.0]}')  # the joystick: turn left
        frames = _frames(ws, 5)
        assert frames[-1]["driver"] == "joystick" and frames[-1]["command"] == pytest.approx([0, 0, 1.0])
        ws.send_text('{"type": "command", "value": null}')  # back to the program
        assert _frames(ws, 5)[-1]["driver"] == "program"

        ws.send_text("not json")
        assert "not JSON" in ws.receive_json()["error"]  # and the session goes on
        ws.send_text('{"type": "push", "strength": 99}')
        reply = ws.receive_json()
        while reply["type"] == "state":
            reply = ws.receive_json()
        assert "push strength" in reply["error"]

        ws.send_text('{"type": "pause"}')
        paused = _frames(ws, 1)[0]
        while not paused["paused"]:
            paused = _frames(ws, 1)[0]
        ws.send_text('{"type": "push", "strength": 1.5, "direction": 0}')  # +x, 1.5 m/s
        ws.send_text('{"type": "resume"}')
        frames = _frames(ws, 10)
        moved = frames[-1]["qpos"][0] - paused["qpos"][0]
        assert moved > 0.1, moved  # 0.2 s at up to 1.5 m/s; walking at 0.5 m/s alone gives 0.1
        ws.send_text('{"type": "reset"}')
        frames = _frames(ws, 5)
        assert min(f["t"] for f in frames) < 0.05 < paused["t"]


@pytest.mark.heavy
def test_go1_turns_where_the_joystick_says(client) -> None:
    """The joystick base turns counter-clockwise for a positive yaw command (it hardly turns clockwise:
    its card says so), standing still under the program's zero command."""
    model_id = _play(client, STAND)
    with client.websocket_connect(f"/api/models/{model_id}/live") as ws:
        assert ws.receive_json()["type"] == "loading" and ws.receive_json()["type"] == "ready"
        still = _frames(ws, 100)
        drift = abs(_yaw(still[-1]["qpos"]) - _yaw(still[0]["qpos"]))
        ws.send_text('{"type": "command", "value": [0, 0, 1.0]}')
        turning = _frames(ws, 250)  # 5 s
        turned = np.unwrap([_yaw(f["qpos"]) for f in turning])
        assert drift < 0.2 and turned[-1] - turned[0] > 0.5, (drift, turned[-1] - turned[0])
