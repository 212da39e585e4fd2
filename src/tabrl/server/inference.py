"""Live policies for WebSocket inference: one jitted function per model, cached."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from tabrl.errors import TabRLError

MAX_LOADED = 8
#: Largest |value| accepted in an observation or state: beyond it the normaliser and MLP overflow
#: float32 (3e38 in -> NaN out). Real observations (positions, velocities, sensors) are far smaller.
MAX_ABS_VALUE = 1e6
#: Longest JSON text frame (characters); an observation of a few hundred values is a few kB.
MAX_TEXT_FRAME = 256 * 1024
_USAGE = "send {'observation': [...]} or {'state': {'qpos': [...], 'qvel': [...]}}"


def _numbers(value: Any, what: str, size: int | None = None) -> np.ndarray | str:
    """`value` as float32 if it is a flat list of finite, bounded numbers, else why not."""
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return f"{what} must be a flat list of numbers"
    if size is not None and len(value) != size:
        return f"{what} must have {size} values, got {len(value)}"
    try:
        arr = np.array([float(v) for v in value], dtype=np.float64)
    except OverflowError:
        return f"{what} holds a number too large for a float; values must be within +-{MAX_ABS_VALUE:g}"
    if not np.isfinite(arr).all():
        return f"{what} contains NaN or infinite values"
    if arr.size and np.abs(arr).max() > MAX_ABS_VALUE:
        return f"{what} values must be within +-{MAX_ABS_VALUE:g}"
    return arr.astype(np.float32)


def parse_frame(text: str, obs_size: int) -> dict[str, Any]:
    """A JSON text frame -> {"observation": array} | {"state": {...}} | {"error": ...}; never raises."""
    if len(text) > MAX_TEXT_FRAME:
        return {"error": f"text frame over {MAX_TEXT_FRAME:,} characters; {_USAGE}"}
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"error": f"not JSON ({exc.msg}); send a binary float32 frame or {{'observation': [...]}}"}
    except (RecursionError, ValueError) as exc:  # nested too deep; integers over Python's digit limit
        return {"error": f"JSON not accepted ({type(exc).__name__}: nested too deeply or a number too long)"}
    if not isinstance(msg, dict):
        return {"error": f"send a JSON object: {_USAGE}"}
    if "observation" in msg:
        obs = _numbers(msg["observation"], "observation", obs_size)
        return {"error": obs} if isinstance(obs, str) else {"observation": obs}
    state = msg.get("state")
    if isinstance(state, dict):
        out: dict[str, Any] = {}
        for key in ("qpos", "qvel", "last_action"):
            if state.get(key) is not None:
                arr = _numbers(state[key], f"state.{key}")
                if isinstance(arr, str):
                    return {"error": arr}
                out[key] = arr
        t = _numbers([state.get("time", 0.0)], "state.time")
        if isinstance(t, str):
            return {"error": t}
        out["time"] = float(t[0])
        if state.get("command") is not None:  # a joystick: (forward m/s, sideways m/s, yaw rad/s)
            command = _numbers(state["command"], "state.command", 3)
            if isinstance(command, str):
                return {"error": command}
            out["command"] = command
        return {"state": out}
    return {"error": f"unknown message; {_USAGE}"}


class LivePolicy:
    """A loaded policy answering observation -> action, plus state -> observation on demand."""

    def __init__(self, directory: Path) -> None:
        from tabrl.policies import load_policy, read_manifest

        self.directory = directory
        self.manifest = read_manifest(directory)
        self.policy = load_policy(directory)
        self.obs_size = int(self.manifest.observation_size)
        self.action_size = int(self.manifest.action_size)
        self._observer: Any = None
        self._lock = threading.Lock()
        self.act(np.zeros(self.obs_size, np.float32))  # compile now, not on the first frame

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action for one observation."""
        return np.asarray(self.policy(obs), dtype=np.float32)

    def _checked(self, obs: np.ndarray) -> np.ndarray | str:
        if obs.shape != (self.obs_size,):
            return f"observation must have {self.obs_size} float32 values, got {obs.size}"
        if not np.isfinite(obs).all():
            return "observation contains NaN or infinite values"
        if obs.size and np.abs(obs).max() > MAX_ABS_VALUE:
            return f"observation values must be within +-{MAX_ABS_VALUE:g}"
        action = self.act(obs)
        if not np.isfinite(action).all():
            return "the policy produced a non-finite action for this observation; check its values"
        return action

    def act_bytes(self, data: bytes) -> bytes | dict[str, Any]:
        """Binary protocol: float32 little-endian in, float32 little-endian out (or an error dict)."""
        if len(data) % 4:
            return {"error": f"binary frames carry float32 values: {len(data)} bytes is not a multiple of 4"}
        out = self._checked(np.frombuffer(data, dtype="<f4"))
        return {"error": out} if isinstance(out, str) else out.astype("<f4").tobytes()

    def act_json(self, obs: np.ndarray) -> dict[str, Any]:
        """JSON protocol: {"action": [...]} or {"error": ...}."""
        out = self._checked(obs)
        return {"error": out} if isinstance(out, str) else {"action": out.tolist()}

    def act_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """{"qpos", "qvel", "last_action"?, "time"?} -> {"action", "observation"} using the training env."""
        try:
            observer = self._get_observer()
            args = (
                state.get("qpos"),
                state.get("qvel"),
                state.get("last_action"),
                float(state.get("time", 0.0)),
            )
            command = state.get("command")
            obs = observer(*args, command=command) if command is not None else observer(*args)
        except (TabRLError, TypeError, ValueError, OverflowError) as exc:
            return {"error": str(exc)}
        out = self._checked(obs.astype(np.float32))
        if isinstance(out, str):
            return {"error": out}
        return {"action": out.tolist(), "ctrl": observer.ctrl(out).tolist(), "observation": obs.tolist()}

    def _get_observer(self) -> Any:
        with self._lock:
            if self._observer is None:
                from tabrl.training.observe import observer_for

                self._observer = observer_for(self.manifest)
            return self._observer


class LivePolicies:
    """An LRU cache of `LivePolicy` by folder."""

    def __init__(self, capacity: int = MAX_LOADED) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[tuple[Path, float], LivePolicy] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, directory: Path) -> LivePolicy:
        """The cached policy of `directory` (loading and compiling it on first use)."""
        # Keyed by the parameters' mtime too: a resumed job replaces a model's parameters.
        params = directory / "params.msgpack"
        key = (directory, params.stat().st_mtime if params.exists() else 0.0)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        policy = LivePolicy(directory)
        with self._lock:
            self._cache[key] = policy
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return policy
