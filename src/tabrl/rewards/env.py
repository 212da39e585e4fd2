"""Reward-driven MJX environments that follow MuJoCo Playground's `MjxEnv` interface.

`make_env(scene, reward, config)` returns

- for a Playground task: `PlaygroundRewardEnv`, the task's own environment (its
  observation, action handling, resets) with the reward replaced by -- or added to -- the
  reward module's terms; the task's reward is available to the module as `s.task_reward`;
- for a Menagerie robot or a person's MJCF: `SceneRewardEnv`, TabRL's own environment:
  observation as `tabrl.scenes.cards.default_observation`, actions in [-1, 1] mapped to
  controls (position actuators around the reference pose, others across their ctrl range),
  joint-position noise at reset, and termination on fall for floating-base robots.

Both are pure: `reset` / `step` build new states with `.replace` and new dicts. Every
weighted reward term is in `state.metrics["reward/<name>"]`; the Playground task's own
metrics are kept under `state.metrics["task/<name>"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from ml_collections import config_dict
from mujoco import mjx
from mujoco_playground import MjxEnv, State
from mujoco_playground import step as playground_step

from tabrl.errors import TabRLError

# Not `compiler`: its environment stage imports this module (see `program`).
from tabrl.rewards.program import CompiledReward, compile_program, scene_context
from tabrl.rewards.result import RewardCompileError
from tabrl.rewards.state import SceneIndex, SemanticState, reference_qpos
from tabrl.runtime import MJX_IMPL
from tabrl.scenes.cards import ObsSegment, default_observation
from tabrl.scenes.compat import make_data as playground_make_data
from tabrl.scenes.compat import task_config
from tabrl.scenes.loader import LoadedScene

#: Key of the previous action in `state.info` (both env kinds).
PREV_ACTION_KEY = "tabrl/prev_action"
#: Metric holding the Playground task's own reward every step (both reward modes).
TASK_REWARD_METRIC = "tabrl/task_reward"
#: Term name of the task's own reward in `reward_mode="add"`.
TASK_TERM = "task"
DEFAULT_EPISODE_LENGTH = 1000
#: Name of the observation segment holding the velocity command (envs with commands).
COMMAND_SEGMENT = "command"


@dataclass(frozen=True)
class EnvConfig:
    """How a reward-driven environment is built (frozen; use `dataclasses.replace` to vary)."""

    #: Steps per episode; None = the Playground task's own, or 1000. Applied by the training wrapper.
    episode_length: int | None = None
    #: Menagerie/MJCF position actuators: action 1.0 moves the target this fraction of half the ctrl range.
    action_scale: float = 0.5
    #: Menagerie/MJCF: uniform noise (rad or m) added to hinge/slide joint positions at reset.
    reset_noise_scale: float = 0.05
    #: Playground tasks: "replace" the task reward with the module's terms, or "add" them to it.
    reward_mode: Literal["replace", "add"] = "replace"
    #: Menagerie/MJCF floating-base robots: end the episode when the base falls (unless is_terminated is defined).
    terminate_on_fall: bool = True
    #: Fall = base height below this fraction of its height at the reference pose...
    fall_height_fraction: float = 0.4
    #: ...or the base's up-axis · world up below this (0.0: lying on its side or worse).
    fall_upright_min: float = 0.0
    #: Domain randomisation (MuJoCo C backend): each episode scales every geom's sliding friction by
    #: a factor drawn from this (lo, hi) range; None: off.
    friction_range: tuple[float, float] | None = None
    #: ...and the robot's body masses by a factor drawn from this range; None: off.
    mass_scale_range: tuple[float, float] | None = None
    #: ...and pushes the floating base sideways at this speed (m/s) every `push_interval_s`; 0: off.
    push_velocity: float = 0.0
    push_interval_s: float = 5.0
    #: Velocity commands (MuJoCo C backend): the largest |forward m/s|, |sideways m/s|, |yaw rad/s|
    #: asked for. Set, the observation ends with the command (3 values) and `s.command` holds it; each
    #: simulation draws a new command at reset and every `command_resample_s`. None: no commands.
    command_range: tuple[float, float, float] | None = None
    command_resample_s: float = 5.0
    #: Chance that each command axis is drawn as exactly 0 (pure forward, pure turning, standing).
    command_zero_prob: float = 0.3

    @property
    def randomized(self) -> bool:
        """Whether any domain randomisation is on."""
        return bool(self.friction_range or self.mass_scale_range or self.push_velocity > 0)

    def __post_init__(self) -> None:
        if self.episode_length is not None and self.episode_length < 1:
            raise TabRLError(f"episode_length must be >= 1, got {self.episode_length}")
        if not 0 < self.action_scale <= 10:
            raise TabRLError(f"action_scale must be in (0, 10], got {self.action_scale}")
        if self.reset_noise_scale < 0:
            raise TabRLError(f"reset_noise_scale must be >= 0, got {self.reset_noise_scale}")
        if self.reward_mode not in ("replace", "add"):
            raise TabRLError(f"reward_mode must be 'replace' or 'add', got {self.reward_mode!r}")
        if not 0 <= self.fall_height_fraction < 1:
            raise TabRLError(f"fall_height_fraction must be in [0, 1), got {self.fall_height_fraction}")
        for name in ("friction_range", "mass_scale_range"):
            value = getattr(self, name)
            if value is not None and not (len(value) == 2 and 0 < value[0] <= value[1]):
                raise TabRLError(f"{name} must be (lo, hi) with 0 < lo <= hi, got {value}")
        if self.push_velocity < 0 or self.push_interval_s <= 0:
            raise TabRLError("push_velocity must be >= 0 and push_interval_s > 0")
        if self.command_range is not None and (
            len(self.command_range) != 3 or any(not 0 <= v <= 10 for v in self.command_range)
        ):
            raise TabRLError(
                f"command_range must be 3 limits in [0, 10] (forward m/s, sideways m/s, yaw rad/s), "
                f"got {self.command_range}"
            )
        if self.command_resample_s <= 0 or not 0 <= self.command_zero_prob <= 1:
            raise TabRLError("command_resample_s must be > 0 and command_zero_prob in [0, 1]")


# --- default rewards (compiled through the same sandbox as user code) ------------------------

DEFAULT_TASK_REWARD = """
def compute_reward(s, action):
    return {"task": s.task_reward}
"""

DEFAULT_STAND_REWARD = """
WEIGHTS = {"upright": 1.0, "pose": 0.5, "still": 0.5}

def compute_reward(s, action):
    return {
        "upright": s.body_upright(s.base),
        "pose": gaussian(jnp.linalg.norm(s.joint_angles() - s.default_pose), 0.5),
        "still": exponential(jnp.linalg.norm(s.body_linvel(s.base)), 0.5),
    }
"""

DEFAULT_ZERO_REWARD = """
def compute_reward(s, action):
    return {"zero": 0.0 * s.time}
"""


def default_reward_code(loaded: LoadedScene | None, index: SceneIndex) -> str:
    """The reward used when none is given: the task's own (Playground tasks on MJX; `loaded` None:
    no task env), else stand still (floating-base robots) or zero."""
    if loaded is not None and loaded.env is not None:
        return DEFAULT_TASK_REWARD
    return DEFAULT_STAND_REWARD if index.floating_base else DEFAULT_ZERO_REWARD


def make_env(
    scene: str | LoadedScene,
    reward: CompiledReward | str | None = None,
    config: EnvConfig | None = None,
) -> PlaygroundRewardEnv | SceneRewardEnv:
    """A reward-driven MJX environment for `scene` (see the module docstring)."""
    ctx = scene_context(scene)
    loaded = ctx.loaded
    config = config or EnvConfig()
    if reward is None:
        reward = default_reward_code(loaded, ctx.index)
    if isinstance(reward, str):
        # What compiler.compile_reward(reward, loaded) does (stages 1-3, no environment stage).
        compiled, errors, _ = compile_program(reward, loaded)
        if compiled is None:
            raise RewardCompileError(errors)
        reward = compiled
    if reward.scene_id != loaded.spec.id:
        raise TabRLError(
            f"reward was compiled for scene {reward.scene_id!r}, not {loaded.spec.id!r}; compile it again"
        )
    if loaded.env is not None:
        return PlaygroundRewardEnv(loaded, reward, config, ctx.index)
    return SceneRewardEnv(loaded, reward, config, ctx.index, ctx.model, ctx.card.actuators)


def scene_episode_length(loaded: LoadedScene) -> int:
    """A scene's own episode length: the Playground task's, else `DEFAULT_EPISODE_LENGTH`."""
    if loaded.env is None:
        return DEFAULT_EPISODE_LENGTH
    return int(getattr(task_config(loaded.env), "episode_length", DEFAULT_EPISODE_LENGTH))


def _sanitise(terms: dict[str, jax.Array]) -> dict[str, jax.Array]:
    # A term that is fine on every probed state can still blow up on a rare one; a NaN
    # reward would poison the whole PPO batch, so it counts as 0 for that step.
    return {k: jnp.where(jnp.isfinite(v), v, 0.0) for k, v in terms.items()}


def _finite(total: jax.Array) -> jax.Array:
    # Finite terms can still sum to infinity (two of 3e38): the total is sanitised like each term.
    return jnp.where(jnp.isfinite(total), total, 0.0)


def _nan_state(data: mjx.Data) -> jax.Array:
    return jnp.isnan(data.qpos).any() | jnp.isnan(data.qvel).any()


class PlaygroundRewardEnv(MjxEnv):
    """A Playground task with its reward replaced by (or added to) a reward module's terms."""

    def __init__(
        self, loaded: LoadedScene, reward: CompiledReward, config: EnvConfig, index: SceneIndex
    ) -> None:
        # MjxEnv.__init__ would re-lock a config; the task already has one.
        self._inner = loaded.env
        self._loaded = loaded
        self._reward = reward
        self._env_config = config
        self._index = index
        self._ctrl_dt = float(self._inner.dt)
        self._sim_dt = float(self._inner.sim_dt)
        if config.command_range is not None:
            raise TabRLError(
                "velocity commands are a MuJoCo C backend feature (TabRL's own conventions), not part of a "
                "Playground task's MJX env: train command-following policies with backend=mujoco"
            )
        if config.reward_mode == "add" and TASK_TERM in reward.terms:
            raise TabRLError(
                f"term name {TASK_TERM!r} is reserved for the task reward in reward_mode='add'; rename it"
            )

    # --- MjxEnv interface ---------------------------------------------------------------------

    def reset(self, rng: jax.Array) -> State:
        inner = self._inner.reset(rng)
        metrics = {
            **_prefixed(inner.metrics),
            TASK_REWARD_METRIC: jnp.zeros(()),
            **{f"reward/{t}": jnp.zeros(()) for t in self.term_names},
        }
        info = {**inner.info, PREV_ACTION_KEY: jnp.zeros(self.action_size)}
        return inner.replace(metrics=metrics, info=info, reward=jnp.zeros(()))

    def step(self, state: State, action: jax.Array) -> State:
        inner_info = {k: v for k, v in state.info.items() if k != PREV_ACTION_KEY}
        inner_metrics = {k[len("task/") :]: v for k, v in state.metrics.items() if k.startswith("task/")}
        out = self._inner.step(state.replace(info=inner_info, metrics=inner_metrics), action)
        s = SemanticState(self._index, out.data, state.info[PREV_ACTION_KEY], out.reward)
        terms = _sanitise(self._reward.weighted_terms(s, action))
        if self._env_config.reward_mode == "add":
            terms = {TASK_TERM: jnp.asarray(out.reward, jnp.float32), **terms}
        total = _finite(sum(terms.values()))
        user_done = self._reward.is_terminated(s)
        done = out.done if user_done is None else (_nan_state(out.data) | user_done).astype(jnp.float32)
        # Start from the incoming metrics: wrappers (Brax's evaluator) add keys of their own
        # and a scan carry must keep its structure.
        metrics = {
            **state.metrics,
            **_prefixed(out.metrics),
            TASK_REWARD_METRIC: jnp.asarray(out.reward, jnp.float32),
            **{f"reward/{k}": v for k, v in terms.items()},
        }
        info = {**out.info, PREV_ACTION_KEY: action}
        return out.replace(reward=total, done=done, metrics=metrics, info=info)

    @property
    def xml_path(self) -> str:
        return self._inner.xml_path

    @property
    def action_size(self) -> int:
        return int(self._inner.action_size)

    @property
    def mj_model(self) -> mujoco.MjModel:
        return self._inner.mj_model

    @property
    def mjx_model(self) -> mjx.Model:
        return self._inner.mjx_model

    @property
    def observation_size(self) -> int | dict[str, tuple[int, ...]]:
        return self._inner.observation_size

    # --- TabRL additions ------------------------------------------------------------------------

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the logged terms (`metrics["reward/<name>"]`)."""
        extra = (TASK_TERM,) if self._env_config.reward_mode == "add" else ()
        return (*extra, *self._reward.terms)

    @property
    def reward(self) -> CompiledReward:
        """The compiled reward module."""
        return self._reward

    @property
    def config(self) -> EnvConfig:
        """The EnvConfig this env was built with."""
        return self._env_config

    @property
    def episode_length(self) -> int:
        """Steps per episode for the training wrapper."""
        if self._env_config.episode_length is not None:
            return self._env_config.episode_length
        return scene_episode_length(self._loaded)

    @property
    def task(self) -> MjxEnv:
        """The wrapped Playground task."""
        return self._inner


def _prefixed(metrics: dict[str, Any]) -> dict[str, Any]:
    return {f"task/{k}": v for k, v in metrics.items()}


class SceneConventions:
    """TabRL's conventions for a Menagerie robot or an MJCF scene, shared by every physics backend.

    Reset pose and noise, the action -> control map, the observation layout and fall
    termination, as numpy tables built once from the model. The functions of one state
    (`observation`, `terminated`, `action_to_ctrl`) are pure JAX: the MJX env calls them on
    `mjx.Data` inside its jitted step; the MuJoCo C env (`tabrl.rewards.host_env`) vmaps them
    over its batched arrays. One definition, so a policy sees the same inputs on both.
    """

    def __init__(
        self, model: mujoco.MjModel, index: SceneIndex, actuators: tuple[Any, ...], config: EnvConfig
    ) -> None:
        self.model, self.index, self.config = model, index, config
        self.layout = default_observation(model)
        if config.command_range is not None:
            self.layout = (*self.layout, ObsSegment(COMMAND_SEGMENT, 3))
        self._prepare_reset()
        self._prepare_actions(actuators)
        self._prepare_fall()

    def _prepare_reset(self) -> None:
        m = self.model
        self.qpos0 = reference_qpos(m).astype(np.float32)
        noisy = np.zeros(m.nq, dtype=np.float32)
        lo = np.full(m.nq, -np.inf, dtype=np.float32)
        hi = np.full(m.nq, np.inf, dtype=np.float32)
        for j in range(m.njnt):
            # int(): numpy ints are not "in" a tuple of MuJoCo enums (== works, membership does not).
            if int(m.jnt_type[j]) in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
                adr = m.jnt_qposadr[j]
                noisy[adr] = 1.0
                if m.jnt_limited[j]:
                    lo[adr], hi[adr] = m.jnt_range[j]
        self.noise_mask, self.qpos_lo, self.qpos_hi = noisy, lo, hi

    def _prepare_actions(self, actuators: tuple[Any, ...]) -> None:
        m, scale = self.model, self.config.action_scale
        center = np.zeros(m.nu, dtype=np.float32)
        half = np.ones(m.nu, dtype=np.float32)
        lo = np.full(m.nu, -np.inf, dtype=np.float32)
        hi = np.full(m.nu, np.inf, dtype=np.float32)
        for i, act in enumerate(actuators):
            limited = bool(m.actuator_ctrllimited[i])
            if limited:
                lo[i], hi[i] = m.actuator_ctrlrange[i]
            width = (hi[i] - lo[i]) / 2 if limited else 1.0
            if act.type == "position" and act.target in self.index.joint_ids:
                adr = m.jnt_qposadr[self.index.joint_ids[act.target]]
                center[i] = np.clip(self.qpos0[adr], lo[i], hi[i])
                half[i] = scale * width
            else:  # motors and the rest: the action spans the whole ctrl range
                center[i] = (lo[i] + hi[i]) / 2 if limited else 0.0
                half[i] = width
        self.ctrl_center, self.ctrl_half, self.ctrl_lo, self.ctrl_hi = center, half, lo, hi

    def _prepare_fall(self) -> None:
        data = mujoco.MjData(self.model)
        data.qpos[:] = self.qpos0
        mujoco.mj_forward(self.model, data)
        root = self.index.body_ids[self.index.root_body]
        self.reference_height = float(data.xpos[root, 2] - self.index.floor_z)
        self.default_ctrl = np.asarray(self.action_to_ctrl(np.zeros(self.model.nu, np.float32)))

    @property
    def observation_size(self) -> int:
        """Length of the observation vector."""
        return int(sum(seg.size for seg in self.layout))

    def reset_qpos(self, unit_noise: Any) -> Any:
        """Reference pose plus `unit_noise` (uniform in [-1, 1], shape (..., nq)) on hinge/slide joints."""
        noise = unit_noise * self.config.reset_noise_scale * self.noise_mask
        return jnp.clip(self.qpos0 + noise, self.qpos_lo, self.qpos_hi)

    def action_to_ctrl(self, action: Any) -> jax.Array:
        """Map an action in [-1, 1]^nu to actuator controls (see the module docstring)."""
        action = jnp.clip(jnp.asarray(action), -1.0, 1.0)
        return jnp.clip(self.ctrl_center + action * self.ctrl_half, self.ctrl_lo, self.ctrl_hi)

    def terminated(self, s: SemanticState, reward: CompiledReward) -> jax.Array:
        """The reward's `is_terminated`, else a fall of a floating-base robot (when configured)."""
        user = reward.is_terminated(s)
        if user is not None:
            return user
        if not (self.index.floating_base and self.config.terminate_on_fall):
            return jnp.zeros((), bool)
        base = s.base
        low = s.body_height(base) < self.config.fall_height_fraction * self.reference_height
        return low | (s.body_upright(base) < self.config.fall_upright_min)

    @property
    def commands(self) -> bool:
        """Whether the observation ends with a velocity command."""
        return self.config.command_range is not None

    def observation(self, data: Any, action: jax.Array, command: Any = None) -> jax.Array:
        """The vector `self.layout` describes, segment by segment, of one state: the model's
        `default_observation`, then the velocity command when the env has commands."""
        s = SemanticState(self.index, data)
        base = self.index.root_body
        parts = {
            "base_height": lambda: s.body_height(base).reshape(1),
            # Gravity in the base frame (the base xmat's bottom row, negated): tilt without the heading.
            "gravity_local": lambda: -data.xmat[self.index.body(base, "observation"), 2],
            "joint_pos": lambda: data.qpos[7:],
            "base_linvel_local": lambda: s.body_linvel(base, local=True),
            "base_angvel_local": lambda: s.body_angvel(base, local=True),
            "joint_vel": lambda: data.qvel[6:],
            "qpos": lambda: data.qpos,
            "qvel": lambda: data.qvel,
            "last_action": lambda: action,
            COMMAND_SEGMENT: lambda: jnp.zeros(3) if command is None else command,
        }
        return jnp.concatenate([jnp.ravel(parts[seg.name]()) for seg in self.layout]).astype(jnp.float32)

    def step_outputs(
        self,
        reward: CompiledReward,
        data: Any,
        action: jax.Array,
        prev_action: jax.Array,
        command: Any = None,
    ) -> tuple[jax.Array, dict[str, jax.Array], jax.Array]:
        """(total reward, weighted terms, done) after a step to `data` (NaN states: done, reward 0)."""
        s = SemanticState(self.index, data, prev_action, jnp.zeros(()), command)
        terms = _sanitise(reward.weighted_terms(s, action))
        nan = _nan_state(data)
        total = jnp.where(nan, 0.0, _finite(sum(terms.values())))
        return total, terms, nan | self.terminated(s, reward)


class SceneRewardEnv(MjxEnv):
    """TabRL's environment for a Menagerie robot or an MJCF scene (see the module docstring)."""

    def __init__(
        self,
        loaded: LoadedScene,
        reward: CompiledReward,
        config: EnvConfig,
        index: SceneIndex,
        model: mujoco.MjModel,
        actuators: tuple[Any, ...],
    ) -> None:
        super().__init__(
            config_dict.ConfigDict({"ctrl_dt": float(loaded.ctrl_dt), "sim_dt": float(loaded.sim_dt)})
        )
        self._loaded = loaded
        self._reward = reward
        self._env_config = config
        self._index = index
        self._mj_model = model
        self._mjx_model = mjx.put_model(self._mj_model, impl=MJX_IMPL)
        if config.command_range is not None:
            raise TabRLError(
                "velocity commands are a MuJoCo C backend feature: train command-following policies "
                "with backend=mujoco"
            )
        self.conventions = SceneConventions(model, index, actuators, config)

    def action_to_ctrl(self, action: jax.Array) -> jax.Array:
        """Map an action in [-1, 1]^nu to actuator controls (see the module docstring)."""
        return self.conventions.action_to_ctrl(action)

    # --- MjxEnv interface ---------------------------------------------------------------------

    def reset(self, rng: jax.Array) -> State:
        conv = self.conventions
        rng, noise_key = jax.random.split(rng)
        noise = jax.random.uniform(noise_key, (self._mj_model.nq,), minval=-1.0, maxval=1.0)
        data = playground_make_data(
            self._mj_model, qpos=conv.reset_qpos(noise), qvel=jnp.zeros(self._mj_model.nv),
            ctrl=conv.default_ctrl, impl=MJX_IMPL,
        )  # fmt: skip
        data = mjx.forward(self._mjx_model, data)
        zeros = jnp.zeros(self.action_size)
        metrics = {f"reward/{t}": jnp.zeros(()) for t in self.term_names}
        info = {"rng": rng, PREV_ACTION_KEY: zeros}
        obs = conv.observation(data, zeros)
        return State(data, obs, jnp.zeros(()), jnp.zeros(()), metrics, info)

    def step(self, state: State, action: jax.Array) -> State:
        action = jnp.clip(action, -1.0, 1.0)
        data = playground_step(self._mjx_model, state.data, self.action_to_ctrl(action), self.n_substeps)
        total, terms, done = self.conventions.step_outputs(
            self._reward, data, action, state.info[PREV_ACTION_KEY]
        )
        metrics = {**state.metrics, **{f"reward/{k}": v for k, v in terms.items()}}
        info = {**state.info, PREV_ACTION_KEY: action}
        return state.replace(
            data=data,
            obs=self.conventions.observation(data, action),
            reward=total,
            done=done.astype(jnp.float32),
            metrics=metrics,
            info=info,
        )

    @property
    def xml_path(self) -> str:
        return str(self._loaded.xml_path or "")

    @property
    def action_size(self) -> int:
        return int(self._mj_model.nu)

    @property
    def mj_model(self) -> mujoco.MjModel:
        return self._mj_model

    @property
    def mjx_model(self) -> mjx.Model:
        return self._mjx_model

    @property
    def observation_size(self) -> int:
        return self.conventions.observation_size

    # --- TabRL additions ------------------------------------------------------------------------

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the logged terms (`metrics["reward/<name>"]`)."""
        return self._reward.terms

    @property
    def reward(self) -> CompiledReward:
        """The compiled reward module."""
        return self._reward

    @property
    def config(self) -> EnvConfig:
        """The EnvConfig this env was built with."""
        return self._env_config

    @property
    def episode_length(self) -> int:
        """Steps per episode for the training wrapper."""
        return self._env_config.episode_length or DEFAULT_EPISODE_LENGTH

    @property
    def reference_height(self) -> float:
        """Base height above the floor at the reference pose (fall detection uses a fraction of it)."""
        return self.conventions.reference_height
