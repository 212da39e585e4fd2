"""A policy driving its scene live, one control step at a time, on the host (the live view's engine).

`live_sim(folder)` builds one simulation of the policy's training environment, with the
environment's own code:

- mujoco-backend policies: MuJoCo C through `policy_env` (the env they were trained in, without
  domain randomisation): its physics, observation, action -> control and fall resets;
- other (MJX-backend) policies: the training env's own jitted MJX step, the policy fused into it
  (one jitted call per control step; measured faster on a CPU than MuJoCo C physics plus the MJX
  observation computed from its state, and it is the exact dynamics the policy learned on).

A `LiveSim` only steps; pacing to real time, streaming and the messages that reset, pause, push or
steer it belong to the caller (the server's WebSocket loop). Actions come from the policy, or from
elsewhere (`step(action)`: the ONNX export running in a browser).

Velocity commands (joystick policies, level-1 command programs): the command is the joystick's when
one is set (`set_command`), else the command program's at the episode time, else zero -- a live
joystick policy stands still until told to move.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from tabrl.errors import TabRLError

#: Push strength (m/s for a floating base, rad/s or m/s per joint otherwise) when none is given.
DEFAULT_PUSH = 0.5
#: Largest push accepted: beyond it the simulation only explodes.
MAX_PUSH = 5.0


class LiveSim(ABC):
    """One simulation of a policy's scene, stepped by the policy (see the module docstring)."""

    #: Control period (seconds): the training env's.
    dt: float
    #: Largest |forward m/s|, |sideways m/s|, |yaw rad/s| of a joystick policy; None: no commands.
    command_range: tuple[float, float, float] | None = None
    #: Whether the policy plays a command program (level 1).
    has_program: bool = False

    def __init__(self, manifest: Any, mj_model: Any, seed: int) -> None:
        import mujoco

        self.scene_id = str(manifest.scene_id)
        self.mj_model = mj_model
        self.action_size = int(manifest.action_size)
        self.rng = np.random.default_rng(seed)
        self.floating_base = bool(mj_model.njnt > 0 and mj_model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE)
        #: The joystick's command while one is held; None: the program's (or zero).
        self.joystick: np.ndarray | None = None

    # --- what the caller reads ----------------------------------------------------------------

    @property
    @abstractmethod
    def observation(self) -> np.ndarray:
        """The observation the policy acts on next (float32, the policy's observation size)."""

    @abstractmethod
    def qpos(self) -> np.ndarray:
        """The current generalised positions (float64 copy)."""

    @abstractmethod
    def time(self) -> float:
        """Seconds since the episode started."""

    @property
    def command(self) -> np.ndarray | None:
        """The velocity command in force (forward m/s, sideways m/s, yaw rad/s); None: no commands."""
        return None

    @property
    def driver(self) -> str:
        """Who sets the command: "joystick", "program", "none" (zero) -- or "" without commands."""
        if self.command_range is None:
            return ""
        if self.joystick is not None:
            return "joystick"
        return "program" if self.has_program else "none"

    # --- what the caller does -----------------------------------------------------------------

    @abstractmethod
    def step(self, action: np.ndarray | None = None) -> bool:
        """One control step with `action` (in [-1, 1]; None: the policy's own). True when the robot
        fell (or the state went non-finite) and the episode started again."""

    @abstractmethod
    def reset(self) -> None:
        """Start a fresh episode."""

    @abstractmethod
    def _kick(self, dqvel: np.ndarray) -> None:
        """Add `dqvel` to the velocities now."""

    def push(self, strength: float = DEFAULT_PUSH, direction: float | None = None) -> None:
        """Push the robot: a floating base gets `strength` m/s horizontally towards `direction` (radians
        from world x; None: a random direction); other robots a random kick of up to `strength` per joint."""
        if not np.isfinite(strength) or not 0 < strength <= MAX_PUSH:
            raise TabRLError(f"push strength must be in (0, {MAX_PUSH:g}], got {strength}")
        dqvel = np.zeros(self.mj_model.nv)
        if self.floating_base:
            angle = self.rng.uniform(0, 2 * np.pi) if direction is None else float(direction)
            dqvel[:2] = strength * np.cos(angle), strength * np.sin(angle)
        else:
            dqvel[:] = self.rng.uniform(-strength, strength, self.mj_model.nv)
        self._kick(dqvel)

    def set_command(self, value: Any | None) -> None:
        """Hold the joystick at `value` (forward m/s, sideways m/s, yaw rad/s; clipped to the policy's
        range), or give the command back to the program (None). It applies from the next step."""
        if value is None:
            self.joystick = None
            return
        if self.command_range is None:
            raise TabRLError("this policy does not follow velocity commands (only joystick policies do)")
        command = np.asarray(value, np.float32).reshape(-1)
        if command.shape != (3,) or not np.isfinite(command).all():
            raise TabRLError("a command is 3 finite numbers: forward m/s, sideways m/s, yaw rad/s")
        limit = np.asarray(self.command_range, np.float32)
        self.joystick = np.clip(command, -limit, limit)

    def checked_action(self, action: Any) -> np.ndarray:
        """`action` as float32 in [-1, 1] if it is `action_size` finite numbers, else TabRLError."""
        arr = np.asarray(action, np.float32).reshape(-1)
        if arr.shape != (self.action_size,):
            raise TabRLError(f"an action is {self.action_size} numbers, got {arr.size}")
        if not np.isfinite(arr).all():
            raise TabRLError("the action contains NaN or infinite values")
        return np.clip(arr, -1.0, 1.0)


class _Joystick:
    """What a host env follows live: the joystick's command while held, else the program's, else zero."""

    def __init__(self, sim: LiveSim, program: Any | None) -> None:
        self.sim, self.program = sim, program

    def __call__(self, t: Any) -> np.ndarray:
        t = np.asarray(t, np.float32)
        if self.sim.joystick is not None:
            return np.broadcast_to(self.sim.joystick, (*t.shape, 3)).copy()
        if self.program is not None:
            return np.asarray(self.program(t), np.float32)
        return np.zeros((*t.shape, 3), np.float32)


class HostLiveSim(LiveSim):
    """A mujoco-backend policy in its own MuJoCo C environment (`policy_env`)."""

    def __init__(self, manifest: Any, policy: Any, seed: int = 0) -> None:
        from tabrl.training.backends.mujoco import policy_env

        # No step limit: the view runs until reset; a fall still starts a new episode.
        env = policy_env(manifest, num_envs=1, seed=seed, episode_length=10**9)
        super().__init__(manifest, env.mj_model, seed)
        self.env, self.policy, self.dt = env, policy, float(env.dt)
        if env.conventions.commands:
            self.command_range = tuple(float(v) for v in env.config.command_range)  # type: ignore[assignment]
            self.has_program = env.program is not None
            env.follow(_Joystick(self, env.program))
        self._obs = env.reset()[0]

    @property
    def observation(self) -> np.ndarray:
        return self._obs

    @property
    def command(self) -> np.ndarray | None:
        return None if self.command_range is None else self.env.commands[0].copy()

    def qpos(self) -> np.ndarray:
        return self.env.qpos()[0]

    def time(self) -> float:
        return float(self.env.time()[0])

    def step(self, action: np.ndarray | None = None) -> bool:
        act = self.policy.numpy(self._obs) if action is None else action
        out = self.env.step(np.asarray(act, np.float32)[None])
        self._obs = out.obs[0]
        return bool(out.done[0])

    def reset(self) -> None:
        self._obs = self.env.reset()[0]

    def _kick(self, dqvel: np.ndarray) -> None:
        self.env.kick(dqvel[None])
        self._obs = self.env.observe(self.env.prev_action)[0]


class JaxLiveSim(LiveSim):
    """An MJX-backend policy in its training env (a Playground task or a reward env): jitted steps."""

    def __init__(self, manifest: Any, policy: Any, seed: int = 0) -> None:
        import jax

        from tabrl.training.envs import mjx_policy_env

        tenv = mjx_policy_env(manifest)
        env, key = tenv.env, manifest.network.policy_obs_key
        super().__init__(manifest, tenv.mj_model, seed)
        self.dt = float(env.dt)

        def obs_of(state: Any) -> Any:
            return state.obs[key] if isinstance(state.obs, dict) else state.obs

        from tabrl.policies.inference import build_apply

        apply = build_apply(manifest)

        def step_policy(state: Any, params: Any) -> Any:
            return env.step(state, apply(params, obs_of(state)[None])[0])

        self._obs_of = obs_of
        self._reset = jax.jit(env.reset)
        # The policy fused into the env's step: one jitted call per control step. The parameters are an
        # argument, not a constant, so every policy of a scene and network shares one compiled program
        # (the persistent cache has it after the first: a new model's view starts in seconds).
        self._params = policy.params
        self._step_policy = jax.jit(step_policy)
        self._step_action = jax.jit(env.step)
        self._key = jax.random.PRNGKey(seed)
        self._resets = 0
        self.reset()
        size = int(np.shape(self.observation)[-1])
        if size != manifest.observation_size:
            raise TabRLError(
                f"policy {manifest.id} reads {manifest.observation_size} observation values but "
                f"{manifest.scene_id} now gives {size} (an older TabRL trained it); train it again"
            )

    @property
    def observation(self) -> np.ndarray:
        return np.asarray(self._obs_of(self._state), np.float32)

    def qpos(self) -> np.ndarray:
        return np.asarray(self._state.data.qpos, np.float64)

    def time(self) -> float:
        return float(self._state.data.time)

    def step(self, action: np.ndarray | None = None) -> bool:
        if action is None:
            state = self._step_policy(self._state, self._params)
        else:
            state = self._step_action(self._state, np.asarray(action, np.float32))
        # Playground envs do not reset themselves: a fall or a blow-up starts a new episode here.
        if float(state.done) > 0 or not np.isfinite(np.asarray(state.data.qpos)).all():
            self.reset()
            return True
        self._state = state
        return False

    def reset(self) -> None:
        import jax

        self._resets += 1
        self._state = self._reset(jax.random.fold_in(self._key, self._resets))

    def _kick(self, dqvel: np.ndarray) -> None:
        data = self._state.data
        self._state = self._state.replace(data=data.replace(qvel=data.qvel + dqvel.astype(np.float32)))


def live_sim(directory: Path | str, seed: int = 0) -> LiveSim:
    """The live simulation of the policy in `directory`, on the engine its backend calls for."""
    from tabrl.policies import load_policy, read_manifest
    from tabrl.runtime import configure_jax

    configure_jax()
    manifest = read_manifest(directory)
    policy = load_policy(directory)
    sim: LiveSim = (HostLiveSim if manifest.backend == "mujoco" else JaxLiveSim)(manifest, policy, seed)
    # Compile now (the policy's step and a given action's), not on the first frames of the view.
    sim.step()
    sim.step(np.zeros(sim.action_size, np.float32))
    sim.reset()
    return sim


__all__ = ["DEFAULT_PUSH", "MAX_PUSH", "HostLiveSim", "JaxLiveSim", "LiveSim", "live_sim"]
