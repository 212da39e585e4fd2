"""Reward-driven environments on MuJoCo's C engine: N simulations stepped on a C++ thread pool.

`HostSceneEnv` is the MuJoCo C twin of `SceneRewardEnv`: the same model, the same conventions
(`SceneConventions`: reset pose and noise, action -> control, observation, fall termination)
and the same compiled reward module, read through the same semantic state `s`. Only the
physics differs: `mjbatch` steps every simulation in C with the GIL released, and the
per-step functions of the state (reward terms, termination, observation) run as one jitted,
vmapped JAX function over the batch's arrays (`HostData`), so a reward written once runs
unchanged on both backends.

Host-stepped: `reset()` and `step(action)` mutate the batch (MuJoCo C state lives in C), but
every JAX function here is pure. Episodes auto-reset: a step's `obs` is the first observation
of the next episode for the simulations that ended (as Brax's auto-reset wrapper does).

Feet contacts: MuJoCo C's contact list has a variable length and is not a batched array, so
`HostData.contact` holds the distance of every robot geom that may collide with a floor plane
(contype/conaffinity), computed from the geom's pose exactly as MJX's plane colliders do
(spheres, capsules, cylinders, boxes, ellipsoids, meshes by their vertices). `s.foot_contact`
reads it the same way on both backends. Floors other than planes (height fields, boxes) are
not contact candidates here; `tabrl.scenes.contacts.mujoco_backend_support` says so before a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct

from tabrl.errors import TabRLError
from tabrl.rewards.compiler import CompiledReward, SceneContext, compile_reward, scene_context
from tabrl.rewards.env import DEFAULT_EPISODE_LENGTH, EnvConfig, SceneConventions, default_reward_code
from tabrl.rewards.state import SemanticState
from tabrl.scenes.contacts import ContactPlan, mujoco_backend_support

#: MjData fields the semantic state and the observation read (bound as float32 batch arrays).
HOST_FIELDS = (
    "time",
    "qpos",
    "qvel",
    "xpos",
    "xquat",
    "xmat",
    "xipos",
    "cvel",
    "subtree_com",
    "actuator_force",
    "sensordata",
    "site_xpos",
    "geom_xpos",
)

#: Fields of MuJoCo's integration state among them (bound natively: writable).
_STATE_FIELDS = ("time", "qpos", "qvel", "ctrl")

_G = mujoco.mjtGeom


@struct.dataclass
class HostContact:
    """Contact candidates as MJX lists them: static geom ids and a (traced) signed distance."""

    geom1: np.ndarray = struct.field(pytree_node=False)
    geom2: np.ndarray = struct.field(pytree_node=False)
    dist: jax.Array


@struct.dataclass
class HostData:
    """One simulation's MjData fields under MjData's names (what `SemanticState` reads)."""

    time: jax.Array
    qpos: jax.Array
    qvel: jax.Array
    xpos: jax.Array
    xquat: jax.Array
    xmat: jax.Array
    xipos: jax.Array
    cvel: jax.Array
    subtree_com: jax.Array
    actuator_force: jax.Array
    sensordata: jax.Array
    site_xpos: jax.Array
    geom_xpos: jax.Array
    contact: HostContact


@dataclass
class HostStep:
    """What one batched step returns (numpy, one row per simulation)."""

    obs: np.ndarray
    reward: np.ndarray
    #: The episode ended (terminated or truncated); the row of `obs` is the next episode's first.
    done: np.ndarray
    #: The episode hit its step limit without terminating.
    truncation: np.ndarray
    #: Weighted reward terms (`reward/<name>`).
    terms: dict[str, np.ndarray]


class HostSceneEnv:
    """`num_envs` simulations of a scene on MuJoCo C, driven by a reward module (see module doc)."""

    def __init__(
        self,
        scene: str | SceneContext,
        reward: CompiledReward | str | None = None,
        config: EnvConfig | None = None,
        *,
        num_envs: int = 1,
        seed: int = 0,
        num_threads: int = 0,
    ) -> None:
        from mjbatch import Batch

        ctx = scene if isinstance(scene, SceneContext) else scene_context(scene)
        why = mujoco_backend_support(ctx.model)
        if why is not None:
            raise TabRLError(f"scene {ctx.loaded.spec.id} cannot run on MuJoCo C: {why}")
        self.ctx, self.config = ctx, config or EnvConfig()
        if reward is None:
            reward = default_reward_code(None, ctx.index)
        self.reward = compile_reward(reward, ctx.loaded) if isinstance(reward, str) else reward
        self.mj_model = ctx.model
        self.conventions = SceneConventions(ctx.model, ctx.index, tuple(ctx.card.actuators), self.config)
        self.plan = ContactPlan.build(ctx.model)
        self.num_envs, self.n_substeps = int(num_envs), ctx.loaded.n_substeps
        self.dt = float(ctx.loaded.ctrl_dt)
        self.batch = Batch(ctx.model, self.num_envs, num_threads=num_threads)
        # State fields are bound in their native float64 (writable views into the state rows; a field
        # binds with one dtype only) and converted on read; derived fields are bound as float32 copies.
        self._native = {name: self.batch.bind(name) for name in _STATE_FIELDS}
        self._qpos, self._qvel, self._ctrl = (self._native[k] for k in ("qpos", "qvel", "ctrl"))
        derived = (*(f for f in HOST_FIELDS if f not in _STATE_FIELDS), "geom_xmat")
        self._f32 = {name: self.batch.bind(name, np.float32) for name in derived}
        self.rng = np.random.default_rng(seed)
        self.steps = np.zeros(self.num_envs, np.int64)
        self.prev_action = np.zeros((self.num_envs, self.action_size), np.float32)
        self._randomization = _Randomization(self)
        #: The velocity command of every simulation (zeros unless the env has commands).
        self.commands = np.zeros((self.num_envs, 3), np.float32)
        self._commands = _Commands(self)
        self._outputs = jax.jit(jax.vmap(self._outputs_one))
        self._observe = jax.jit(jax.vmap(self._observe_one))
        self._measure: tuple[CompiledReward, Any] | None = None

    # --- sizes and names ----------------------------------------------------------------------

    @property
    def action_size(self) -> int:
        """Length of one action."""
        return int(self.mj_model.nu)

    @property
    def observation_size(self) -> int:
        """Length of one observation."""
        return self.conventions.observation_size

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the weighted reward terms (`reward/<name>`)."""
        return self.reward.terms

    @property
    def episode_length(self) -> int:
        """Control steps per episode."""
        return self.config.episode_length or DEFAULT_EPISODE_LENGTH

    # --- JAX functions of one state (pure) ---------------------------------------------------

    def host_data(self, arrays: dict[str, jax.Array]) -> HostData:
        """`HostData` of one simulation from its bound arrays (xmat and geom_xmat flat, as bound)."""
        xmat = arrays["xmat"].reshape(-1, 3, 3)
        geom_xmat = arrays["geom_xmat"].reshape(-1, 3, 3)
        dist = self.plan.distances(arrays["geom_xpos"], geom_xmat, jnp)
        contact = HostContact(geom1=self.plan.robot, geom2=self.plan.floor, dist=dist)
        fields = {k: arrays[k] for k in HOST_FIELDS if k != "xmat"}
        return HostData(xmat=xmat, contact=contact, **fields)

    def _outputs_one(
        self, arrays: dict[str, jax.Array], action: jax.Array, prev_action: jax.Array, command: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array], jax.Array]:
        data = self.host_data(arrays)
        return self.conventions.step_outputs(self.reward, data, action, prev_action, command)

    def _observe_one(
        self, arrays: dict[str, jax.Array], last_action: jax.Array, command: jax.Array
    ) -> jax.Array:
        return self.conventions.observation(self.host_data(arrays), last_action, command)

    # --- host loop --------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The batch's current float32 arrays (geom_xmat only for the contact geoms)."""
        out = dict(self._f32)
        out["geom_xmat"] = self._f32["geom_xmat"][:, self.plan.geoms]
        for name in ("time", "qpos", "qvel"):
            out[name] = self._native[name].astype(np.float32)
        return out

    def reset(self) -> np.ndarray:
        """Start a fresh episode in every simulation; their first observations."""
        self._reset_ids(np.arange(self.num_envs))
        self.prev_action[:] = 0.0
        return np.asarray(self._observe(self.arrays(), self.prev_action, self.commands))

    def step(self, action: np.ndarray) -> HostStep:
        """Apply `action` (num_envs, nu) for one control step; auto-reset ended episodes."""
        action = np.clip(np.asarray(action, np.float32), -1.0, 1.0)
        self._ctrl[:] = np.asarray(self.conventions.action_to_ctrl(action))
        self._randomization.push()
        self.batch.step(nstep=self.n_substeps)
        self.steps += 1
        # The reward judges the step against the command the policy acted on.
        reward, terms, terminated = self._outputs(self.arrays(), action, self.prev_action, self.commands)
        terminated = np.asarray(terminated)
        truncation = (self.steps >= self.episode_length) & ~terminated
        done = terminated | truncation
        self.prev_action = np.where(done[:, None], 0.0, action).astype(np.float32)
        ids = np.flatnonzero(done)
        if ids.size:
            self._reset_ids(ids)
        self._commands.advance()
        obs = np.asarray(self._observe(self.arrays(), self.prev_action, self.commands))
        return HostStep(
            obs=obs,
            reward=np.asarray(reward, np.float32),
            done=done,
            truncation=truncation,
            terms={k: np.asarray(v) for k, v in terms.items()},
        )

    def _reset_ids(self, ids: np.ndarray) -> None:
        conv, n = self.conventions, ids.size
        self.batch.reset(ids)
        noise = self.rng.uniform(-1.0, 1.0, (n, self.mj_model.nq)).astype(np.float32)
        self._qpos[ids] = np.asarray(conv.reset_qpos(noise))
        self._qvel[ids] = 0.0
        self._ctrl[ids] = conv.default_ctrl
        self._randomization.reset(ids)
        self.batch.forward(ids)
        self.steps[ids] = 0
        self._commands.reset(ids)

    def set_state(
        self, qpos: np.ndarray, qvel: np.ndarray, time: float = 0.0, warmstart: np.ndarray | None = None
    ) -> None:
        """Put every simulation in the state (qpos, qvel) and recompute what derives from it.

        `warmstart` (num_envs, nv) is the constraint solver's starting acceleration: scenes solved in
        one iteration (Playground's Go1) step to a different state from a different warmstart.
        """
        self._qpos[:] = qpos
        self._qvel[:] = qvel
        self._native["time"][:] = time
        if warmstart is not None:
            self.batch.bind("qacc_warmstart")[:] = warmstart
        self.batch.forward()

    def measure(self, compiled: CompiledReward) -> dict[str, np.ndarray]:
        """The unweighted terms of `compiled` (a reward, or a success check's measure) on every
        simulation's current state, with the actions last taken and the current commands."""
        if self._measure is None or self._measure[0] is not compiled:

            def one(arrays: dict[str, jax.Array], prev_action: jax.Array, command: jax.Array) -> Any:
                s = SemanticState(self.ctx.index, self.host_data(arrays), prev_action, None, command)
                return compiled.raw_terms(s, prev_action)

            self._measure = (compiled, jax.jit(jax.vmap(one)))
        out = self._measure[1](self.arrays(), self.prev_action, self.commands)
        return {k: np.asarray(v) for k, v in out.items()}

    def observe(self, last_action: np.ndarray) -> np.ndarray:
        """Observations of the current states given the previous actions (and the commands)."""
        return np.asarray(self._observe(self.arrays(), np.asarray(last_action, np.float32), self.commands))

    def follow(self, program: Any | None) -> None:
        """Drive the commands from `program` -- a function of the episode time (a float array of shape
        (num_envs,), in seconds) returning (num_envs, 3) commands, e.g. a compiled command program --
        instead of random draws; None: random draws again. Needs an env with commands."""
        if not self.conventions.commands:
            raise TabRLError("this environment has no velocity commands (EnvConfig.command_range is None)")
        self._commands.program = program
        self._commands.reset(np.arange(self.num_envs))

    def commands_at(self, time: float) -> None:
        """Set every simulation's command to the followed program's at `time` seconds (no program:
        nothing changes). For states set from outside (`set_state`), e.g. the live view."""
        program = self._commands.program
        if program is not None and self.conventions.commands:
            value = np.asarray(program(np.full(self.num_envs, time, np.float32)), np.float32)
            self.commands[:] = np.clip(
                value.reshape(self.num_envs, 3), -self._commands.range, self._commands.range
            )

    def set_commands(self, commands: np.ndarray) -> None:
        """Set every simulation's command now (a joystick); it holds until the next draw or reset."""
        self.commands[:] = np.asarray(commands, np.float32)

    @property
    def program(self) -> Any | None:
        """The command program the env follows (`follow`), or None."""
        return self._commands.program

    def qpos(self) -> np.ndarray:
        """A copy of every simulation's qpos."""
        return np.array(self._qpos)

    def qvel(self) -> np.ndarray:
        """A copy of every simulation's qvel."""
        return np.array(self._qvel)

    def time(self) -> np.ndarray:
        """Every simulation's time (seconds since its episode started)."""
        return np.array(self._native["time"])

    def kick(self, dqvel: np.ndarray) -> None:
        """Add `dqvel` (num_envs, nv) to every simulation's velocities now (a push), keeping what
        derives from the state consistent; the next `observe` or `step` sees it."""
        self._qvel[:] += np.asarray(dqvel, np.float64).reshape(self.num_envs, -1)
        self.batch.forward()


class _Commands:
    """Velocity commands: drawn per simulation at reset and every `command_resample_s`, or read from a
    command program at each simulation's episode time."""

    def __init__(self, env: HostSceneEnv) -> None:
        cfg = env.config
        self.env = env
        self.range = np.asarray(cfg.command_range or (0.0, 0.0, 0.0), np.float32)
        self.every = max(1, round(cfg.command_resample_s / env.dt))
        self.program: Any | None = None

    def reset(self, ids: np.ndarray) -> None:
        if not self.env.conventions.commands:
            return
        if self.program is not None:
            self._from_program()
        else:
            self._draw(ids)

    def advance(self) -> None:
        if not self.env.conventions.commands:
            return
        if self.program is not None:
            self._from_program()
            return
        due = np.flatnonzero((self.env.steps > 0) & (self.env.steps % self.every == 0))
        if due.size:
            self._draw(due)

    def _draw(self, ids: np.ndarray) -> None:
        rng, cfg = self.env.rng, self.env.config
        value = rng.uniform(-1.0, 1.0, (ids.size, 3)) * self.range
        value[rng.random((ids.size, 3)) < cfg.command_zero_prob] = 0.0
        self.env.commands[ids] = value.astype(np.float32)

    def _from_program(self) -> None:
        t = self.env.steps.astype(np.float32) * np.float32(self.env.dt)
        value = np.asarray(self.program(t), np.float32).reshape(self.env.num_envs, 3)
        self.env.commands[:] = np.clip(value, -self.range, self.range)


class _Randomization:
    """Per-simulation domain randomisation from `EnvConfig`: friction and mass at reset, pushes."""

    def __init__(self, env: HostSceneEnv) -> None:
        cfg, model = env.config, env.mj_model
        self.env = env
        self.friction = env.batch.expand("geom_friction") if cfg.friction_range else None
        self.mass = env.batch.expand("body_mass") if cfg.mass_scale_range else None
        self.base_friction = np.array(model.geom_friction[:, 0])
        self.base_mass = np.array(model.body_mass)
        self.robot_bodies = env.ctx.index.robot_bodies
        self.push_every = max(1, round(cfg.push_interval_s / env.dt)) if cfg.push_velocity > 0 else 0

    def reset(self, ids: np.ndarray) -> None:
        cfg, rng = self.env.config, self.env.rng
        if self.friction is not None:
            lo, hi = cfg.friction_range
            scale = rng.uniform(lo, hi, (ids.size, 1))
            self.friction[ids, :, 0] = self.base_friction[None, :] * scale
        if self.mass is not None:
            lo, hi = cfg.mass_scale_range
            scale = rng.uniform(lo, hi, (ids.size, 1))
            self.mass[np.ix_(ids, self.robot_bodies)] = self.base_mass[self.robot_bodies][None, :] * scale
            self.env.batch.set_const(ids)

    def push(self) -> None:
        if not self.push_every or not self.env.ctx.index.floating_base:
            return
        due = np.flatnonzero((self.env.steps + 1) % self.push_every == 0)
        if due.size:
            angle = self.env.rng.uniform(0, 2 * np.pi, due.size)
            speed = self.env.config.push_velocity
            dqvel = np.zeros((self.env.num_envs, self.env.ctx.model.nv))
            dqvel[due, 0] = speed * np.cos(angle)
            dqvel[due, 1] = speed * np.sin(angle)
            self.env.kick(dqvel)


__all__ = ["HOST_FIELDS", "ContactPlan", "HostData", "HostSceneEnv", "HostStep"]
