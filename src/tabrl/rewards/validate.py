"""Equivalence check: the MJX environment against MuJoCo C on the same states and controls.

For each of N control steps, with seeded random actions in [-1, 1]:

1. the jitted MJX environment steps from its current state;
2. MuJoCo C is set to the same state (qpos, qvel, act, time, warm start, applied forces)
   and steps `n_substeps` times with the control the MJX step applied (read back from
   `data.ctrl`, so the task's own action mapping needs no re-implementation);
3. qpos / qvel are compared, and the reward terms are recomputed on the C state through
   the same semantic API (`mjx.put_data` of the C data) and compared with the MJX
   environment's `metrics["reward/<name>"]`.

Comparing one step at a time from a shared state measures the environment's own error
(float32 MJX vs float64 C, solver differences) without the chaotic divergence of two
long independent rollouts. Episodes that end are reset and the comparison continues.

A step agrees when every difference is within its tolerance (velocities: absolute plus 1% of the
step's largest speed). Contact-rich robots solved in one constraint iteration (Playground's Go1)
have rare steps where a contact switches on in one engine and not the other, from the same state
(measured on Go1 under random actions: 0-2 of 30 steps, differences of 0.5-25 rad/s, the rest agree to
1e-5 relative); the report counts them and tolerates up to `divergent_fraction` of the steps.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tabrl.rewards.compiler import CompiledReward
from tabrl.rewards.env import PREV_ACTION_KEY, TASK_REWARD_METRIC, TASK_TERM, EnvConfig, make_env
from tabrl.rewards.state import SemanticState
from tabrl.runtime import MJX_IMPL
from tabrl.scenes.loader import LoadedScene

#: Defaults the test suite holds environments to (absolute, per control step).
QPOS_TOL = 1e-3
QVEL_TOL = 5e-2
TERM_TOL = 1e-2
#: Relative part of the velocity (and observation) tolerance: of the step's largest |qvel| (|obs|).
VEL_REL_TOL = 1e-2
#: Steps allowed to disagree (a contact or constraint switching on in one engine only).
DIVERGENT_FRACTION = 0.1


@dataclass
class ValidationReport:
    """Largest MJX-vs-C differences over the steps compared, and how many steps disagreed."""

    scene: str
    steps: int
    max_dqpos: float
    max_dqvel: float
    max_dterm: dict[str, float]
    resets: int
    #: Steps whose terms could not be recomputed (C had more contacts than MJX holds).
    skipped_term_steps: int
    duration_s: float
    #: Largest observation difference (the C env check only; observations hold velocities, so the
    #: tolerance is the velocities' one).
    max_dobs: float = 0.0
    #: Steps whose states were compared, and those with some difference outside its tolerance.
    compared_steps: int = 0
    divergent_steps: int = 0
    tolerances: dict[str, float] = field(
        default_factory=lambda: {
            "qpos": QPOS_TOL,
            "qvel": QVEL_TOL,
            "velocity_relative": VEL_REL_TOL,
            "term": TERM_TOL,
            "observation": QVEL_TOL,
            "divergent_fraction": DIVERGENT_FRACTION,
        }
    )

    @property
    def ok(self) -> bool:
        """Whether at most `divergent_fraction` of the compared steps disagreed."""
        return self.divergent_steps <= self.tolerances["divergent_fraction"] * self.compared_steps

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (adds "ok")."""
        return {**asdict(self), "ok": self.ok}


class _Tally:
    """Per-step differences: the worst of each, and how many steps disagreed."""

    def __init__(self) -> None:
        self.worst = {"qpos": 0.0, "qvel": 0.0, "obs": 0.0}
        self.dterm: dict[str, float] = {}
        self.compared = self.divergent = 0

    def add(
        self,
        dqpos: np.ndarray,
        dqvel: np.ndarray,
        qvel: np.ndarray,
        dterm: dict[str, float],
        dobs: np.ndarray | None = None,
        obs: np.ndarray | None = None,
    ) -> None:
        """One step's differences (arrays of absolute differences; `qvel`/`obs`: the reference values)."""
        worst = {"qpos": float(np.max(dqpos)), "qvel": float(np.max(dqvel))}
        worst["obs"] = float(np.max(dobs)) if dobs is not None and dobs.size else 0.0
        for name, value in worst.items():
            self.worst[name] = max(self.worst[name], value)
        for name, value in dterm.items():
            self.dterm[name] = max(self.dterm.get(name, 0.0), value)
        speed = float(np.max(np.abs(qvel))) if qvel.size else 0.0
        scale = float(np.max(np.abs(obs))) if obs is not None and obs.size else 0.0
        agrees = (
            worst["qpos"] <= QPOS_TOL
            and worst["qvel"] <= QVEL_TOL + VEL_REL_TOL * speed
            and worst["obs"] <= QVEL_TOL + VEL_REL_TOL * scale
            and all(v <= TERM_TOL for v in dterm.values())
        )
        self.compared += 1
        self.divergent += not agrees

    def report(
        self, scene: str, steps: int, resets: int, skipped: int, duration_s: float
    ) -> ValidationReport:
        """The report of the steps added."""
        return ValidationReport(
            scene=scene,
            steps=steps,
            max_dqpos=self.worst["qpos"],
            max_dqvel=self.worst["qvel"],
            max_dterm=self.dterm,
            resets=resets,
            skipped_term_steps=skipped,
            duration_s=duration_s,
            max_dobs=self.worst["obs"],
            compared_steps=self.compared,
            divergent_steps=self.divergent,
        )


def validate_env(
    scene: str | LoadedScene,
    reward: CompiledReward | str | None = None,
    steps: int = 20,
    seed: int = 0,
    config: EnvConfig | None = None,
) -> ValidationReport:
    """Step the reward-driven MJX env and MuJoCo C side by side; report the largest differences."""
    import jax
    import jax.numpy as jnp
    import mujoco
    from mujoco import mjx

    start = time.perf_counter()
    env = make_env(scene, reward, config)
    model = env.mj_model
    index = env.reward.index
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    state = reset(key)
    c_data = mujoco.MjData(model)
    tally = _Tally()
    resets = skipped = 0
    for _ in range(steps):
        action = jnp.asarray(rng.uniform(-1.0, 1.0, env.action_size), jnp.float32)
        nxt = step(state, action)
        _load_c_state(c_data, state.data, np.asarray(nxt.data.ctrl))
        for _ in range(env.n_substeps):
            mujoco.mj_step(model, c_data)
        dterm: dict[str, float] = {}
        # The task's own reward cannot be recomputed from C data: terms built on
        # s.task_reward get the MJX value, every other term is recomputed.
        task_reward = nxt.metrics.get(TASK_REWARD_METRIC, jnp.zeros(()))
        try:
            c_mjx = mjx.put_data(model, c_data, impl=MJX_IMPL)
        except ValueError:
            # C found more contacts than MJX's fixed-size contact arrays hold: the terms of
            # this step cannot be recomputed through MJX data (qpos/qvel were compared).
            c_mjx = None
            skipped += 1
        if c_mjx is not None:
            s = SemanticState(index, c_mjx, state.info[PREV_ACTION_KEY], task_reward)
            c_terms = env.reward.weighted_terms(s, jnp.clip(action, -1, 1) if _clips(env) else action)
            if TASK_TERM in env.term_names:
                c_terms = {TASK_TERM: task_reward, **c_terms}
            for name, value in c_terms.items():
                dterm[name] = abs(float(value) - float(nxt.metrics[f"reward/{name}"]))
        qvel = np.asarray(nxt.data.qvel)
        tally.add(np.abs(c_data.qpos - np.asarray(nxt.data.qpos)), np.abs(c_data.qvel - qvel), qvel, dterm)
        state = nxt
        if bool(nxt.done):
            key, sub = jax.random.split(key)
            state = reset(sub)
            resets += 1
    return tally.report(env.reward.scene_id, steps, resets, skipped, time.perf_counter() - start)


def validate_host_env(
    scene: str,
    reward: CompiledReward | str | None = None,
    steps: int = 20,
    seed: int = 0,
    config: EnvConfig | None = None,
) -> ValidationReport:
    """The MuJoCo C env (`HostSceneEnv`, the mujoco backend) against its MJX twin (`SceneRewardEnv`:
    the same model, conventions and reward) from the same states and actions, one step at a time.

    Besides qpos / qvel and every reward term, the observations the policy would see are compared
    (`max_dobs`).
    """
    import jax
    import jax.numpy as jnp

    from tabrl.rewards.compiler import scene_context
    from tabrl.rewards.env import SceneRewardEnv
    from tabrl.rewards.host_env import HostSceneEnv

    start = time.perf_counter()
    ctx = scene_context(scene)
    host = HostSceneEnv(ctx, reward, config, num_envs=1, seed=seed)
    twin = SceneRewardEnv(
        ctx.loaded, host.reward, host.config, ctx.index, ctx.model, tuple(ctx.card.actuators)
    )
    reset, step = jax.jit(twin.reset), jax.jit(twin.step)
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    state = reset(key)
    tally = _Tally()
    resets = 0
    for _ in range(steps):
        action = rng.uniform(-1.0, 1.0, host.action_size).astype(np.float32)
        nxt = step(state, jnp.asarray(action))
        host.set_state(
            np.asarray(state.data.qpos)[None],
            np.asarray(state.data.qvel)[None],
            float(state.data.time),
            np.asarray(state.data.qacc_warmstart)[None],
        )
        host.prev_action[:] = np.asarray(state.info[PREV_ACTION_KEY])
        host.steps[:] = 0
        out = host.step(action[None])
        if not out.done[0]:  # an ended episode was reset: nothing left to compare this step
            qvel, obs = np.asarray(nxt.data.qvel), np.asarray(nxt.obs)
            dterm = {
                name: abs(float(value[0]) - float(nxt.metrics[f"reward/{name}"]))
                for name, value in out.terms.items()
            }
            tally.add(
                np.abs(host.qpos()[0] - np.asarray(nxt.data.qpos)),
                np.abs(host.qvel()[0] - qvel),
                qvel,
                dterm,
                np.abs(out.obs[0] - obs),
                obs,
            )
        state = nxt
        if bool(nxt.done) or out.done[0]:
            key, sub = jax.random.split(key)
            state = reset(sub)
            resets += 1
    scene_name = f"{host.reward.scene_id} (MuJoCo C env vs MJX twin)"
    return tally.report(scene_name, steps, resets, 0, time.perf_counter() - start)


def _clips(env: Any) -> bool:
    # TabRL's own envs clip actions to [-1, 1] before the reward sees them; Playground tasks do not.
    from tabrl.rewards.env import SceneRewardEnv

    return isinstance(env, SceneRewardEnv)


def _load_c_state(c_data: Any, data: Any, ctrl: np.ndarray) -> None:
    """Put MJX state `data` (before the step) into MuJoCo C, with the control to apply."""
    c_data.time = float(data.time)
    c_data.qpos[:] = np.asarray(data.qpos, dtype=np.float64)
    c_data.qvel[:] = np.asarray(data.qvel, dtype=np.float64)
    if c_data.act.size:
        c_data.act[:] = np.asarray(data.act, dtype=np.float64)
    c_data.qacc_warmstart[:] = np.asarray(data.qacc_warmstart, dtype=np.float64)
    c_data.qfrc_applied[:] = np.asarray(data.qfrc_applied, dtype=np.float64)
    c_data.xfrc_applied[:] = np.asarray(data.xfrc_applied, dtype=np.float64)
    if c_data.mocap_pos.size:
        c_data.mocap_pos[:] = np.asarray(data.mocap_pos, dtype=np.float64)
        c_data.mocap_quat[:] = np.asarray(data.mocap_quat, dtype=np.float64)
    c_data.ctrl[:] = ctrl
