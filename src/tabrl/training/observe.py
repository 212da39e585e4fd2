"""A policy's observation from a simulator state (qpos, qvel), for live control from elsewhere.

MuJoCo WebAssembly in the browser simulates the scene; it sends its state and the server
computes the observation with the *same* environment code the policy was trained on, so no
observation logic is duplicated in JavaScript. Task-specific inputs that are not physical
state (e.g. a joystick command) keep their values from a reset with a fixed seed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tabrl.errors import TabRLError
from tabrl.scenes.compat import task_action_to_ctrl, task_observation


def _check_state(
    qpos: Any, qvel: Any, last_action: Any, nq: int, nv: int, nu: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    qpos = np.asarray(qpos, dtype=np.float32)
    qvel = np.asarray(qvel, dtype=np.float32)
    if qpos.shape != (nq,) or qvel.shape != (nv,):
        raise TabRLError(f"state needs qpos of length {nq} and qvel of length {nv}")
    last = np.zeros(nu, np.float32) if last_action is None else np.asarray(last_action, np.float32)
    if last.shape != (nu,):
        raise TabRLError(f"last_action must have length {nu}")
    if not (np.isfinite(qpos).all() and np.isfinite(qvel).all() and np.isfinite(last).all()):
        raise TabRLError("state contains NaN or infinite values")
    return qpos, qvel, last


NO_COMMANDS = "this policy does not follow velocity commands (only joystick policies do); drop `command`"


def observer_for(manifest: Any) -> Any:
    """The observer of a policy: its training environment's own observation, on its backend."""
    if manifest.backend == "mujoco":
        from tabrl.training.backends.mujoco import policy_env

        return HostStateObserver(policy_env(manifest, num_envs=1))
    from tabrl.training.envs import make_training_env

    tenv = make_training_env(manifest.scene_id, manifest.reward.source, manifest.reward.name)
    return StateObserver(tenv.env, manifest.network.policy_obs_key)


class HostStateObserver:
    """`(qpos, qvel, last_action, time) -> observation` on MuJoCo C (mujoco-backend policies)."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.nq, self.nv = int(env.mj_model.nq), int(env.mj_model.nv)
        self.action_size = int(env.action_size)
        self._lock = threading.Lock()

    def ctrl(self, action: Any) -> np.ndarray:
        """The actuator controls the env applies for `action`."""
        return np.asarray(self.env.conventions.action_to_ctrl(np.asarray(action, np.float32)))

    @property
    def commands(self) -> bool:
        """Whether the policy follows velocity commands (a joystick policy)."""
        return bool(self.env.conventions.commands)

    def __call__(
        self, qpos: Any, qvel: Any, last_action: Any = None, time: float = 0.0, command: Any = None
    ) -> np.ndarray:
        """The observation of a state. A joystick policy's command is `command` (forward m/s, sideways
        m/s, yaw rad/s: a person's joystick) when given, else its command program's at `time`."""
        qpos, qvel, last = _check_state(qpos, qvel, last_action, self.nq, self.nv, self.action_size)
        with self._lock:  # one C simulation holds the state: one request at a time
            self.env.set_state(qpos[None], qvel[None], time)
            if command is not None:
                if not self.commands:
                    raise TabRLError(NO_COMMANDS)
                value = np.asarray(command, np.float32).reshape(-1)
                if value.shape != (3,) or not np.isfinite(value).all():
                    raise TabRLError("command must be 3 finite numbers: forward m/s, sideways m/s, yaw rad/s")
                self.env.set_commands(value[None])
            else:
                self.env.commands_at(time)
            return self.env.observe(last[None])[0]


class StateObserver:
    """`(qpos, qvel, last_action, time) -> observation` for one trained env."""

    def __init__(self, env: Any, obs_key: str, seed: int = 0) -> None:
        import jax
        from mujoco import mjx

        self.env = env
        self.nq, self.nv = int(env.mj_model.nq), int(env.mj_model.nv)
        self._template = jax.jit(env.reset)(jax.random.PRNGKey(seed))
        observe = _observation_fn(env)
        mjx_model = env.mjx_model

        def fn(qpos: Any, qvel: Any, last: Any, t: Any) -> Any:
            data = self._template.data.replace(qpos=qpos, qvel=qvel, time=t)
            data = mjx.forward(mjx_model, data)
            obs = observe(data, self._template.info, last)
            return obs[obs_key] if isinstance(obs, dict) else obs

        self._fn = jax.jit(fn)
        self.action_size = int(env.action_size)
        self._ctrl = jax.jit(_ctrl_fn(env))

    def ctrl(self, action: Any) -> np.ndarray:
        """The actuator controls the env applies for `action` (what a simulator elsewhere should set)."""
        return np.asarray(self._ctrl(np.asarray(action, np.float32)))

    def __call__(
        self, qpos: Any, qvel: Any, last_action: Any = None, time: float = 0.0, command: Any = None
    ) -> np.ndarray:
        if command is not None:
            raise TabRLError(NO_COMMANDS)
        qpos, qvel, last = _check_state(qpos, qvel, last_action, self.nq, self.nv, self.action_size)
        return np.asarray(self._fn(qpos, qvel, last, np.float32(time)))


def _observation_fn(env: Any) -> Callable[[Any, dict[str, Any], Any], Any]:
    """The env's own observation function, whatever kind of env it is."""
    if hasattr(env, "conventions"):  # TabRL's reward-driven env of a Menagerie / MJCF scene
        return lambda data, _info, last: env.conventions.observation(data, last)
    task = getattr(env, "task", env)  # TabRL's wrapper of a Playground task, or the task itself
    observe = task_observation(task)
    if observe is not None:
        return observe
    raise TabRLError(f"{type(env).__name__} has no observation function TabRL can call from a state")


def _ctrl_fn(env: Any) -> Callable[[Any], Any]:
    """action -> data.ctrl, as the env's step does it."""
    if hasattr(env, "action_to_ctrl"):  # TabRL's reward-driven env
        return env.action_to_ctrl
    # Playground's position-controlled robots: targets around the default pose; others: the action.
    return task_action_to_ctrl(getattr(env, "task", env)) or (lambda action: action)
