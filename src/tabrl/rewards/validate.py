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
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tabrl.rewards.compiler import CompiledReward
from tabrl.rewards.env import PREV_ACTION_KEY, TASK_REWARD_METRIC, TASK_TERM, EnvConfig, make_env
from tabrl.rewards.state import SemanticState
from tabrl.scenes.loader import LoadedScene

#: Defaults the test suite holds environments to (absolute, per control step).
QPOS_TOL = 1e-3
QVEL_TOL = 5e-2
TERM_TOL = 1e-2


@dataclass
class ValidationReport:
    """Largest MJX-vs-C differences over the steps compared."""

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
    tolerances: dict[str, float] = field(
        default_factory=lambda: {
            "qpos": QPOS_TOL,
            "qvel": QVEL_TOL,
            "term": TERM_TOL,
            "observation": QVEL_TOL,
        }
    )

    @property
    def ok(self) -> bool:
        """Whether every difference is within the tolerances."""
        return (
            self.max_dqpos <= self.tolerances["qpos"]
            and self.max_dqvel <= self.tolerances["qvel"]
            and all(v <= self.tolerances["term"] for v in self.max_dterm.values())
            and self.max_dobs <= self.tolerances["observation"]
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (adds "ok")."""
        return {**asdict(self), "ok": self.ok}


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
    worst = {"qpos": 0.0, "qvel": 0.0}
    dterm: dict[str, float] = {}
    resets = skipped = 0
    for _ in range(steps):
        action = jnp.asarray(rng.uniform(-1.0, 1.0, env.action_size), jnp.float32)
        nxt = step(state, action)
        _load_c_state(c_data, state.data, np.asarray(nxt.data.ctrl))
        for _ in range(env.n_substeps):
            mujoco.mj_step(model, c_data)
        worst["qpos"] = max(worst["qpos"], float(np.max(np.abs(c_data.qpos - np.asarray(nxt.data.qpos)))))
        worst["qvel"] = max(worst["qvel"], float(np.max(np.abs(c_data.qvel - np.asarray(nxt.data.qvel)))))
        # The task's own reward cannot be recomputed from C data: terms built on
        # s.task_reward get the MJX value, every other term is recomputed.
        task_reward = nxt.metrics.get(TASK_REWARD_METRIC, jnp.zeros(()))
        try:
            c_mjx = mjx.put_data(model, c_data, impl="jax")
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
                diff = abs(float(value) - float(nxt.metrics[f"reward/{name}"]))
                dterm[name] = max(dterm.get(name, 0.0), diff)
        state = nxt
        if bool(nxt.done):
            key, sub = jax.random.split(key)
            state = reset(sub)
            resets += 1
    return ValidationReport(
        scene=env.reward.scene_id,
        steps=steps,
        max_dqpos=worst["qpos"],
        max_dqvel=worst["qvel"],
        max_dterm=dterm,
        resets=resets,
        skipped_term_steps=skipped,
        duration_s=time.perf_counter() - start,
    )


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
    worst = {"qpos": 0.0, "qvel": 0.0}
    dterm: dict[str, float] = {}
    resets, max_dobs = 0, 0.0
    for _ in range(steps):
        action = rng.uniform(-1.0, 1.0, host.action_size).astype(np.float32)
        nxt = step(state, jnp.asarray(action))
        host.set_state(
            np.asarray(state.data.qpos)[None], np.asarray(state.data.qvel)[None], float(state.data.time)
        )
        host.prev_action[:] = np.asarray(state.info[PREV_ACTION_KEY])
        host.steps[:] = 0
        out = host.step(action[None])
        if not out.done[0]:  # an ended episode was reset: nothing left to compare this step
            worst["qpos"] = max(
                worst["qpos"], float(np.max(np.abs(host.qpos()[0] - np.asarray(nxt.data.qpos))))
            )
            worst["qvel"] = max(
                worst["qvel"], float(np.max(np.abs(host._qvel[0] - np.asarray(nxt.data.qvel))))
            )
            max_dobs = max(max_dobs, float(np.max(np.abs(out.obs[0] - np.asarray(nxt.obs)))))
        for name, value in out.terms.items():
            diff = abs(float(value[0]) - float(nxt.metrics[f"reward/{name}"]))
            dterm[name] = max(dterm.get(name, 0.0), diff)
        state = nxt
        if bool(nxt.done) or out.done[0]:
            key, sub = jax.random.split(key)
            state = reset(sub)
            resets += 1
    return ValidationReport(
        scene=f"{host.reward.scene_id} (MuJoCo C env vs MJX twin)",
        steps=steps,
        max_dqpos=worst["qpos"],
        max_dqvel=worst["qvel"],
        max_dterm=dterm,
        resets=resets,
        skipped_term_steps=0,
        duration_s=time.perf_counter() - start,
        max_dobs=max_dobs,
    )


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
