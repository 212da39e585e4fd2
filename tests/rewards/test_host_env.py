"""The MuJoCo C environment: same reward language and conventions as MJX, batched on threads."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mujoco import mjx

from tabrl.rewards import compile_reward
from tabrl.rewards.compiler import scene_context
from tabrl.rewards.env import EnvConfig
from tabrl.rewards.host_env import ContactPlan, HostSceneEnv
from tabrl.rewards.state import SemanticState

#: Reads every part of the semantic API whose value depends on the physics state.
API_REWARD = """
def compute_reward(s, action):
    b = s.base
    lin = s.body_linvel(b, local=True)
    ang = s.body_angvel(b)
    return {
        "pos": jnp.sum(s.body_pos(b)) + s.body_height(b),
        "quat": jnp.sum(s.body_quat(b) * jnp.array([1.0, 2.0, 3.0, 4.0])),
        "up": s.body_upright(b) + s.body_yaw(b),
        "lin": lin[0] - 2.0 * lin[1] + 0.5 * lin[2],
        "ang": ang[0] + ang[1] - ang[2],
        "joints": jnp.sum(s.joint_angles() * jnp.arange(s.joint_angles().shape[0])),
        "vels": jnp.sum(s.joint_vels()),
        "force": jnp.sum(s.actuator_forces()) * 0.01,
        "feet": jnp.sum(s.feet_contact()),
        "com": jnp.sum(s.com()) + jnp.sum(s.com_vel()),
        "time": s.time,
        "prev": jnp.sum(s.prev_action),
        "act": jnp.sum(action),
    }
"""


def _random_states(ctx, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Random physical states around the reference pose (base lifted or lowered so feet touch or not)."""
    rng = np.random.default_rng(seed)
    model = ctx.model
    from tabrl.rewards.state import reference_qpos

    q0 = reference_qpos(model)
    qpos = np.tile(q0, (n, 1))
    mask = np.array([int(model.jnt_type[j]) in (2, 3) for j in range(model.njnt)])
    for j in np.flatnonzero(mask):
        adr = model.jnt_qposadr[j]
        qpos[:, adr] += rng.uniform(-0.3, 0.3, n)
        if model.jnt_limited[j]:
            qpos[:, adr] = np.clip(qpos[:, adr], *model.jnt_range[j])
    if ctx.index.floating_base:
        qpos[:, 2] += rng.uniform(-0.05, 0.1, n)
        quat = np.tile([1.0, 0, 0, 0], (n, 1)) + rng.normal(0, 0.1, (n, 4))
        qpos[:, 3:7] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    qvel = rng.normal(0, 0.5, (n, model.nv))
    ctrl = rng.uniform(-1, 1, (n, model.nu))
    time = rng.uniform(0, 5, n)
    return qpos, qvel, ctrl, time


def _mjx_terms(ctx, reward, qpos, qvel, ctrl, time, action, prev) -> dict[str, np.ndarray]:
    model = mjx.put_model(ctx.model, impl="jax")

    def one(q, v, c, t, a, p):
        data = mjx.make_data(ctx.model, impl="jax").replace(qpos=q, qvel=v, ctrl=c, time=t)
        data = mjx.forward(model, data)
        return reward.weighted_terms(SemanticState(ctx.index, data, p, jnp.zeros(())), a)

    out = jax.jit(jax.vmap(one))(qpos, qvel, ctrl, time, action, prev)
    return {k: np.asarray(v) for k, v in out.items()}


def _host_terms(env, qpos, qvel, ctrl, time, action, prev) -> dict[str, np.ndarray]:
    env._qpos[:] = qpos
    env._qvel[:] = qvel
    env._ctrl[:] = ctrl
    env._native["time"][:] = time
    env.batch.forward()
    _, terms, _ = env._outputs(env.arrays(), action.astype(np.float32), prev.astype(np.float32), env.commands)
    return {k: np.asarray(v) for k, v in terms.items()}


def _check_equal(scene: str, seed: int, n: int = 8) -> None:
    ctx = scene_context(scene)
    reward = compile_reward(API_REWARD, ctx.loaded)
    env = HostSceneEnv(ctx, reward, num_envs=n, seed=seed)
    qpos, qvel, ctrl, time = _random_states(ctx, n, seed)
    rng = np.random.default_rng(seed + 1)
    action = rng.uniform(-1, 1, (n, env.action_size)).astype(np.float32)
    prev = rng.uniform(-1, 1, (n, env.action_size)).astype(np.float32)
    args = (qpos.astype(np.float32), qvel.astype(np.float32), ctrl.astype(np.float32),
            time.astype(np.float32), action, prev)  # fmt: skip
    host = _host_terms(env, qpos, qvel, ctrl, time, action, prev)
    ref = _mjx_terms(ctx, reward, *args)
    assert set(host) == set(ref)
    for name in ref:
        # MuJoCo C computes in float64, MJX in float32.
        np.testing.assert_allclose(
            host[name], ref[name], rtol=2e-3, atol=2e-3, err_msg=f"{scene}: term {name}"
        )


_SETTINGS = settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))


@_SETTINGS
@given(seed=st.integers(0, 2**16))
def test_terms_equal_mjx_cartpole(seed: int) -> None:
    _check_equal("CartpoleBalance", seed)


@_SETTINGS
@given(seed=st.integers(0, 2**16))
def test_terms_equal_mjx_cheetah(seed: int) -> None:
    _check_equal("CheetahRun", seed)


@pytest.mark.heavy
@_SETTINGS
@given(seed=st.integers(0, 2**16))
def test_terms_equal_mjx_go1(seed: int) -> None:
    _check_equal("Go1JoystickFlatTerrain", seed)


def test_contact_distances_match_mujoco_collisions() -> None:
    """The plane distances of the candidate pairs equal MuJoCo C's own contact distances."""
    ctx = scene_context("CheetahRun")
    model = ctx.model
    plan = ContactPlan.build(model)
    assert plan.robot.size > 0
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    margin = model.geom_margin.copy()
    model.geom_margin[:] = 1.0  # report every pair within a metre, penetrating or not
    try:
        for _ in range(5):
            data.qpos[:] = ctx.model.qpos0 + rng.uniform(-0.4, 0.4, model.nq)
            mujoco.mj_forward(model, data)
            ours = np.asarray(
                plan.distances(
                    jnp.asarray(data.geom_xpos), jnp.asarray(data.geom_xmat[plan.geoms].reshape(-1, 3, 3))
                )
            )
            theirs: dict[int, float] = {}
            for c in data.contact[: data.ncon]:
                if (c.geom1 in plan.floor) == (c.geom2 in plan.floor):
                    continue  # robot-robot: not a floor contact
                g = c.geom2 if c.geom1 in plan.floor else c.geom1
                theirs[g] = min(theirs.get(g, np.inf), c.dist)
            assert theirs, "no floor contacts within the margin: the check would be empty"
            for g, d in zip(plan.robot, ours, strict=True):
                if int(g) in theirs:
                    assert d == pytest.approx(theirs[int(g)], abs=1e-4)
    finally:
        model.geom_margin[:] = margin


def test_reset_step_and_auto_reset() -> None:
    env = HostSceneEnv("CheetahRun", None, EnvConfig(episode_length=5), num_envs=4, seed=0)
    obs = env.reset()
    assert obs.shape == (4, env.observation_size) and np.isfinite(obs).all()
    # Reset noise: simulations start in different poses.
    assert not np.allclose(env.qpos()[0], env.qpos()[1])
    outs = [env.step(np.zeros((4, env.action_size))) for _ in range(5)]
    for out in outs:
        assert out.reward.shape == (4,) and set(out.terms) == set(env.term_names)
    assert not outs[3].done.any() and outs[4].done.all() and outs[4].truncation.all()
    assert (env.steps == 0).all()
    np.testing.assert_array_equal(env.prev_action, 0.0)


def test_domain_randomization_per_simulation() -> None:
    config = EnvConfig(
        friction_range=(0.5, 1.5), mass_scale_range=(0.8, 1.2), push_velocity=0.5, push_interval_s=0.02
    )
    env = HostSceneEnv("CheetahRun", None, config, num_envs=3, seed=1)
    env.reset()
    friction = env.batch.expand("geom_friction")[:, :, 0]
    mass = env.batch.expand("body_mass")
    assert not np.allclose(friction[0], friction[1])
    assert not np.allclose(mass[0], mass[1])
    before = env._qvel.copy()
    env.step(np.zeros((3, env.action_size)))
    assert np.isfinite(env._qvel).all() and not np.allclose(before, env._qvel)
