"""The live view's loop: the server steps a policy's simulation at its control rate, paced to real
time, and streams the states over a WebSocket for the browser to render.

Why here and not in the page: a round trip per control step (the page simulating, the server
computing the observation and the action) capped the view at 10-16 actions/s (x0.10-0.16 real
time); stepping on the server takes 1-3 ms of a 10-20 ms control period, so only the state travels,
once per step, and nothing waits for the network. With `actions="browser"` the ONNX export in the
page acts instead: each state frame carries the observation, and each step takes the page's newest
answer when its time comes (pipelined: the simulation never waits on the network while the page
keeps up; an answer that misses its step acts one step later, and the frames say how often).

Protocol (JSON text frames; every bad frame gets `{"type": "error", "error": ...}` and the loop
goes on):

- server: `{"type": "loading"}`, then `{"type": "ready", "dt", "nq", "command_range", "program",
  "actions", "obs_size", "action_size", "scene_id"}`, then one `{"type": "state", "step", "t",
  "qpos", "rtf", "capacity", "command", "driver", "fell", "paused", "seq"}` per
  control step, with `"obs", "answer_ms", "on_time"` for browser actions;
- client: `{"type": "pause"}`, `{"type": "resume"}`, `{"type": "reset"}`,
  `{"type": "push", "strength"?: m/s, "direction"?: rad}`,
  `{"type": "command", "value": [forward m/s, sideways m/s, yaw rad/s] | null}` (null: back to the
  program), `{"type": "action", "value": [...], "seq": n}` (browser actions: the answer to state frame `seq`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.concurrency import run_in_threadpool

from tabrl.errors import TabRLError
from tabrl.training.live import LiveSim

#: Behind real time by up to this much (the process was not scheduled for a while on a busy machine),
#: the loop catches up, `MAX_BATCH` steps at a time; further behind (a late browser action, a machine
#: too slow for this scene), the schedule restarts from now.
MAX_LAG_S = 1.0
MAX_BATCH = 8
#: Browser actions: an answer acts at most this many steps after the state it answers; later, the loop
#: waits for a newer one (measured: a cartpole acting on answers up to 0.25 s old fell over).
MAX_LATE_STEPS = 2
#: With the server's actions the loop wakes at most this often (s), stepping every control step due.
MIN_TICK_S = 1 / 50
#: States are sent at most this often (60 a second) with the server's actions: a page draws no faster.
#: Browser actions need every state (its observation).
MIN_FRAME_S = 1 / 60
#: The real-time factor is measured over this much wall time.
RTF_WINDOW_S = 2.0
#: Longest JSON control frame (characters).
MAX_CONTROL_FRAME = 16 * 1024
ACTIONS = ("server", "browser")
_CONTROLS = "pause, resume, reset, push, command, action"
log = logging.getLogger(__name__)


def parse_control(text: str) -> dict[str, Any]:
    """A JSON control frame -> `{"type": ..., ...}` or `{"error": ...}`; never raises."""
    if len(text) > MAX_CONTROL_FRAME:
        return {"error": f"control frame over {MAX_CONTROL_FRAME:,} characters"}
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        return {"error": f'not JSON; send {{"type": ...}} with one of: {_CONTROLS}'}
    if not isinstance(msg, dict) or msg.get("type") not in _CONTROLS.split(", "):
        return {"error": f'unknown message; send {{"type": ...}} with one of: {_CONTROLS}'}
    kind = msg["type"]
    if kind == "push":
        out: dict[str, Any] = {"type": "push"}
        for key in ("strength", "direction"):
            value = msg.get(key)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or not np.isfinite(value):
                return {"error": f"push {key} must be a finite number"}
            out[key] = float(value)
        return out
    if kind in ("command", "action"):
        value = msg.get("value")
        if value is None and kind == "command":
            return {"type": "command", "value": None}
        if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        ):
            return {
                "error": f"{kind} value must be a list of numbers" + (" or null" if kind == "command" else "")
            }
        out = {"type": kind, "value": np.asarray(value, np.float64)}
        if kind == "action":
            seq = msg.get("seq")
            out["seq"] = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
        return out
    return {"type": kind}


class LiveLoop:
    """One live session: steps `sim` at real time and `send`s each state (see the module docstring).

    Controls arrive through `handle` (from the WebSocket reader) and are applied between steps, so the
    simulation is only ever touched by one step at a time.
    """

    def __init__(
        self,
        sim: LiveSim,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        actions: str = "server",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if actions not in ACTIONS:
            raise TabRLError(f"actions must be one of {', '.join(ACTIONS)}, got {actions!r}")
        self.sim, self.send, self.actions, self.clock = sim, send, actions, clock
        self.steps = 0
        self.paused = False
        self.closed = False
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._ready_action: np.ndarray | None = None
        self._ready_seq = 0  # the frame the ready action answers
        self._seq = 0
        self._on_time = 0.0
        self._window: deque[tuple[float, int]] = deque()
        self._compute_s = 0.0
        self.rtf = 0.0
        self._sent_at = 0.0
        self._per_tick = max(1, round(MIN_TICK_S / sim.dt))
        self._answer_s = 0.0

    @property
    def capacity(self) -> float:
        """How many times real time the step itself could run (control period / compute time)."""
        return self.sim.dt / self._compute_s if self._compute_s > 0 else 0.0

    def handle(self, control: dict[str, Any]) -> str | None:
        """Take a parsed control (`parse_control`); an error message when it cannot apply."""
        kind = control["type"]
        if kind == "action":
            if self.actions != "browser":
                return "this session's actions come from the server's policy; open it with ?actions=browser"
            try:
                action = self.sim.checked_action(control["value"])
            except TabRLError as exc:
                return str(exc)
            # The newest answer acts; an older one (overtaken, or computed before a reset) is dropped.
            seq = control.get("seq")
            if isinstance(seq, int) and self._ready_seq < seq <= self._seq:
                self._ready_action, self._ready_seq = action, seq
                if seq == self._seq:
                    self._answer_s = self._ema(self._answer_s, self.clock() - self._sent_at)
                self._wake.set()
            return None
        if kind == "command" and control["value"] is not None and self.sim.command_range is None:
            return "this policy does not follow velocity commands (only joystick policies do)"
        if kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused = False
        else:
            self._pending.append(control)
        self._wake.set()
        return None

    def close(self) -> None:
        """Stop the loop (the client left)."""
        self.closed = True
        self._wake.set()

    async def run(self) -> None:
        """Until `close`: apply the controls received, wait for the step's time (and, with browser
        actions, its action), step, send the state."""
        dt = self.sim.dt
        await self._send_state(fell=False)
        due = self.clock()  # when the next control step is due (wall clock)
        while not self.closed:
            self._wake.clear()
            if self._pending:
                controls, self._pending = self._pending, []
                for error in await run_in_threadpool(self._apply, controls):
                    await self.send({"type": "error", "error": error})
                if not self.paused:
                    await self._send_state(fell=False)  # the new state (and observation) at once
            if self.paused:
                self._window.clear()
                await self._send_state(fell=False)  # says it is paused, with any reset or push
                await self._wait(None)
                due = self.clock()
                continue
            delay = due - self.clock()
            if delay > 0:
                await self._wait(delay)  # a control wakes the loop early: it applies at once
                continue
            action = None
            if self.actions == "browser":
                # Pipelined: a step takes the page's newest answer when its time comes, so the
                # simulation keeps real time; an answer that misses its step acts a step late (counted
                # in `on_time`). With no recent answer (or none yet), the loop waits for one.
                if self._ready_action is None or self._seq - self._ready_seq > MAX_LATE_STEPS:
                    await self._wait(None)  # the page's answer, or a control
                    due = self.clock()  # time spent waiting for the page is not caught up
                    continue
                action = self._ready_action
            # The steps due run in one go: at least a tick's worth with the server's actions (the page
            # draws no faster, and each wake-up costs), more when behind the clock (a busy machine).
            n = min(
                MAX_BATCH,
                max(1 + int((self.clock() - due) / dt), 1 if action is not None else self._per_tick),
            )
            if action is not None:
                self._on_time = self._ema(
                    self._on_time, float(n == 1 and self._ready_seq == self._seq), first=False
                )
            start = self.clock()
            fell = await run_in_threadpool(self._steps, n, action)
            self._compute_s = self._ema(self._compute_s, (self.clock() - start) / n)
            self.steps += n
            due += n * dt
            now = self.clock()
            if now - due > MAX_LAG_S:
                due = now  # a long stall is not caught up
            self._measure(now)
            if self.actions == "browser" or fell or now - self._sent_at >= MIN_FRAME_S:
                await self._send_state(fell=fell)

    @staticmethod
    def _ema(average: float, value: float, *, first: bool = True) -> float:
        """An exponential moving average (the first value taken as is when `first`)."""
        return value if first and average == 0 else 0.9 * average + 0.1 * value

    def _steps(self, n: int, action: np.ndarray | None) -> bool:
        fell = False
        for _ in range(n):
            fell = self.sim.step(action) or fell
        return fell

    async def _wait(self, timeout: float | None) -> None:
        if self._wake.is_set() or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def _apply(self, controls: list[dict[str, Any]]) -> list[str]:
        errors = []
        for control in controls:
            try:
                if control["type"] == "reset":
                    self.sim.reset()
                elif control["type"] == "push":
                    self.sim.push(**{k: v for k, v in control.items() if k != "type"})
                elif control["type"] == "command":
                    self.sim.set_command(control["value"])
            except TabRLError as exc:
                errors.append(str(exc))
        return errors

    def _measure(self, now: float) -> None:
        self._window.append((now, self.steps))
        while len(self._window) > 2 and now - self._window[0][0] > RTF_WINDOW_S:
            self._window.popleft()
        (t0, s0), (t1, s1) = self._window[0], self._window[-1]
        if t1 > t0:
            self.rtf = (s1 - s0) * self.sim.dt / (t1 - t0)

    async def _send_state(self, *, fell: bool) -> None:
        sim = self.sim
        frame: dict[str, Any] = {
            "type": "state",
            "step": self.steps,
            "t": round(sim.time(), 6),
            "qpos": sim.qpos().tolist(),
            "rtf": round(self.rtf, 4),
            "capacity": round(self.capacity, 2),
            "fell": fell,
            "paused": self.paused,
        }
        self._seq += 1
        frame["seq"] = self._seq
        command = sim.command
        if command is not None:
            frame["command"] = [round(float(v), 4) for v in command]
            frame["driver"] = sim.driver
        if self.actions == "browser":
            frame["obs"] = sim.observation.tolist()
            frame["answer_ms"] = round(self._answer_s * 1000, 2)  # the page's time to answer
            frame["on_time"] = round(self._on_time, 3)  # share of steps that had the answer to their state
        self._sent_at = self.clock()
        await self.send(frame)


def ready_message(sim: LiveSim, model_id: str, actions: str) -> dict[str, Any]:
    """The first frame of a session: what the page needs to drive and show it."""
    return {
        "type": "ready",
        "model_id": model_id,
        "scene_id": sim.scene_id,
        "dt": sim.dt,
        "nq": int(sim.mj_model.nq),
        "obs_size": int(np.size(sim.observation)),
        "action_size": sim.action_size,
        "command_range": list(sim.command_range) if sim.command_range else None,
        "program": sim.has_program,
        "actions": actions,
    }


class LiveSims:
    """Idle live simulations kept per policy folder, so that reconnecting (a reload, another action
    source) does not build and compile the environment again."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._idle: OrderedDict[tuple[Path, float], list[LiveSim]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(directory: Path) -> tuple[Path, float]:
        params = directory / "params.msgpack"  # a resumed job replaces a model's parameters
        return directory, params.stat().st_mtime if params.exists() else 0.0

    def acquire(self, directory: Path) -> LiveSim:
        """An idle simulation of the policy in `directory`, or a new one (blocking: build + compile)."""
        from tabrl.training.live import live_sim

        key = self._key(directory)
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        return live_sim(directory)

    def release(self, directory: Path, sim: LiveSim) -> None:
        """Give a simulation back (reset, joystick released) for the next session; one that cannot be
        reset is dropped."""
        try:
            sim.set_command(None)
            sim.reset()
        except Exception as exc:  # a broken simulation is not worth keeping, nor worth a failure
            log.warning("live simulation dropped: %s: %s", type(exc).__name__, exc)
            return
        key = self._key(directory)
        with self._lock:
            self._idle.setdefault(key, []).append(sim)
            self._idle.move_to_end(key)
            while sum(len(v) for v in self._idle.values()) > self.capacity:
                oldest = next(iter(self._idle))
                self._idle[oldest].pop(0)
                if not self._idle[oldest]:
                    del self._idle[oldest]


__all__ = ["ACTIONS", "LiveLoop", "LiveSims", "parse_control", "ready_message"]
