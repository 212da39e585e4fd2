"""Live policies for WebSocket inference: one jitted function per model, cached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from tabrl.errors import TabRLError

MAX_LOADED = 8


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
        return self.act(obs)

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
            obs = observer(
                state.get("qpos"), state.get("qvel"), state.get("last_action"), float(state.get("time", 0.0))
            )
        except (TabRLError, TypeError, ValueError) as exc:
            return {"error": str(exc)}
        out = self._checked(obs.astype(np.float32))
        if isinstance(out, str):
            return {"error": out}
        return {"action": out.tolist(), "ctrl": observer.ctrl(out).tolist(), "observation": obs.tolist()}

    def _get_observer(self) -> Any:
        with self._lock:
            if self._observer is None:
                from tabrl.policies.observe import observer_for

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
