"""Reward-driven environments: Playground tasks, own MJCF scenes, and a Brax PPO run."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tabrl.errors import TabRLError
from tabrl.rewards import EnvConfig, compile_reward, make_env
from tabrl.rewards.env import PREV_ACTION_KEY, TASK_REWARD_METRIC, PlaygroundRewardEnv, SceneRewardEnv
from tabrl.rewards.reference import get_reference

#: A tiny floating-base robot: a box with two legs, one position and one motor actuator.
TINY_MJCF = """
<mujoco model="tiny_walker">
  <compiler angle="radian"/>
  <option timestep="0.005"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="torso" pos="0 0 0.3">
      <freejoint name="root"/>
      <geom name="torso_geom" type="box" size="0.15 0.08 0.04" mass="1"/>
      <body name="leg_l" pos="0 0.1 0">
        <joint name="hip_l" type="hinge" axis="0 1 0" range="-1 1"/>
        <geom name="foot_l" type="capsule" fromto="0 0 0 0 0 -0.2" size="0.02" mass="0.1"/>
      </body>
      <body name="leg_r" pos="0 -0.1 0">
        <joint name="hip_r" type="hinge" axis="0 1 0" range="-1 1"/>
        <geom name="foot_r" type="capsule" fromto="0 0 0 0 0 -0.2" size="0.02" mass="0.1"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position name="hip_l" joint="hip_l" kp="20" ctrlrange="-1 1"/>
    <motor name="hip_r" joint="hip_r" ctrlrange="-2 2"/>
  </actuator>
  <keyframe><key name="home" qpos="0 0 0.25 1 0 0 0 0.2 -0.1"/></keyframe>
</mujoco>
"""

TINY_REWARD = """
WEIGHTS = {"forward": 2.0}

def compute_reward(s, action):
    return {
        "forward": s.body_linvel(s.base)[0],
        "upright": s.body_upright(s.base),
        "feet": jnp.sum(s.feet_contact()),
    }
"""


@pytest.fixture(scope="module")
def tiny_scene() -> str:
    from tabrl.scenes import register_mjcf

    return register_mjcf("tiny_walker", xml=TINY_MJCF, category="locomotion").id


@functools.cache
def _cartpole_env(mode: str = "replace", reward: str | None = "ref") -> PlaygroundRewardEnv:
    code = get_reference("cartpole_drift_right").code if reward == "ref" else reward
    return make_env("CartpoleBalance", code, EnvConfig(reward_mode=mode))  # type: ignore[return-value]


@functools.cache
def _jitted(env: object) -> tuple:
    return jax.jit(env.reset), jax.jit(env.step)  # type: ignore[attr-defined]


def test_playground_env_replaces_reward_and_logs_terms() -> None:
    env = _cartpole_env()
    reset, step = _jitted(env)
    state = reset(jax.random.PRNGKey(0))
    assert set(env.term_names) == {"upright", "drift", "small_control"}
    keys = set(state.metrics)
    assert {f"reward/{t}" for t in env.term_names} <= keys
    assert TASK_REWARD_METRIC in keys
    assert any(k.startswith("task/reward/") for k in keys)  # the task's own terms, renamed
    assert state.obs.shape == (env.observation_size,) == (5,)
    nxt = step(state, jnp.array([0.5]))
    assert set(nxt.metrics) == keys and set(nxt.info) == set(state.info)
    weighted = sum(float(nxt.metrics[f"reward/{t}"]) for t in env.term_names)
    assert float(nxt.reward) == pytest.approx(weighted, rel=1e-5, abs=1e-6)
    assert float(nxt.reward) != pytest.approx(float(nxt.metrics[TASK_REWARD_METRIC]))
    np.testing.assert_allclose(nxt.info[PREV_ACTION_KEY], [0.5])
    # The small_control term is -0.1 * action^2 (weight 0.1).
    assert float(nxt.metrics["reward/small_control"]) == pytest.approx(-0.1 * 0.25, rel=1e-5)


def test_playground_env_add_mode_and_default_reward() -> None:
    env = _cartpole_env("add")
    reset, step = _jitted(env)
    nxt = step(reset(jax.random.PRNGKey(1)), jnp.array([0.1]))
    assert env.term_names[0] == "task"
    assert float(nxt.metrics["reward/task"]) == pytest.approx(float(nxt.metrics[TASK_REWARD_METRIC]))
    total = sum(float(nxt.metrics[f"reward/{t}"]) for t in env.term_names)
    assert float(nxt.reward) == pytest.approx(total, rel=1e-5)
    default = make_env("CartpoleBalance")
    assert default.term_names == ("task",)
    assert default.episode_length == 1000


def test_add_mode_reserves_the_task_term() -> None:
    code = 'def compute_reward(s, action):\n    return {"task": s.time}\n'
    with pytest.raises(TabRLError, match="reserved"):
        make_env("CartpoleBalance", code, EnvConfig(reward_mode="add"))


def test_env_config_validates() -> None:
    with pytest.raises(TabRLError):
        EnvConfig(reward_mode="sum")  # type: ignore[arg-type]
    with pytest.raises(TabRLError):
        EnvConfig(action_scale=0)
    cfg = dataclasses.replace(EnvConfig(), episode_length=200)
    assert cfg.episode_length == 200


def test_reward_for_another_scene_is_refused() -> None:
    compiled = compile_reward(get_reference("pendulum_swingup").code, "PendulumSwingup")
    with pytest.raises(TabRLError, match="compiled for scene"):
        make_env("CartpoleBalance", compiled)


def test_scene_env_layout_actions_and_reset(tiny_scene: str) -> None:
    from tabrl.scenes import robot_card

    env = make_env(tiny_scene, TINY_REWARD)
    assert isinstance(env, SceneRewardEnv)
    card = robot_card(tiny_scene)
    # height, gravity in the base frame (not the heading), joints, base velocities, joint velocities, action
    assert env.observation_size == card.obs_size == 1 + 3 + 2 + 3 + 3 + 2 + 2
    # Position actuator: around the home pose (0.2), scaled by action_scale * half range (0.5 * 1).
    np.testing.assert_allclose(env.action_to_ctrl(jnp.array([0.0, 0.0])), [0.2, 0.0], atol=1e-6)
    np.testing.assert_allclose(env.action_to_ctrl(jnp.array([1.0, 1.0])), [0.7, 2.0], atol=1e-6)
    np.testing.assert_allclose(env.action_to_ctrl(jnp.array([-1.0, -0.5])), [-0.3, -1.0], atol=1e-6)
    np.testing.assert_allclose(env.action_to_ctrl(jnp.array([5.0, -5.0])), [0.7, -2.0], atol=1e-6)
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    state = reset(jax.random.PRNGKey(3))
    qpos = np.asarray(state.data.qpos)
    np.testing.assert_allclose(qpos[:7], [0, 0, 0.25, 1, 0, 0, 0], atol=1e-6)  # base not perturbed
    assert np.all(np.abs(qpos[7:] - [0.2, -0.1]) <= 0.05 + 1e-6)
    assert not np.allclose(qpos[7:], [0.2, -0.1])  # joint noise applied
    assert state.obs.shape == (env.observation_size,)
    assert float(state.obs[0]) == pytest.approx(0.25, abs=1e-5)  # base height first
    np.testing.assert_allclose(state.obs[1:4], [0.0, 0.0, -1.0], atol=1e-6)  # level: gravity straight down
    nxt = step(state, jnp.array([0.3, -0.2]))
    assert set(nxt.metrics) == {"reward/forward", "reward/upright", "reward/feet"}
    assert float(nxt.reward) == pytest.approx(sum(float(v) for v in nxt.metrics.values()), rel=1e-5)
    np.testing.assert_allclose(nxt.obs[-2:], [0.3, -0.2], atol=1e-6)  # last action at the end
    assert float(nxt.done) == 0.0
    # Termination on fall: put the base near the floor.
    low = state.replace(data=state.data.replace(qpos=state.data.qpos.at[2].set(0.02)))
    assert float(step(low, jnp.zeros(2)).done) == 1.0
    # ... unless the reward module decides termination itself.
    never = make_env(tiny_scene, TINY_REWARD + "\n\ndef is_terminated(s):\n    return s.time < 0.0\n")
    assert float(jax.jit(never.step)(low, jnp.zeros(2)).done) == 0.0


@pytest.mark.timeout(900)
def test_brax_ppo_trains_a_reference_reward() -> None:
    """The interface proof: Brax PPO + Playground's wrapper accept a reward-driven env."""
    from brax.training.agents.ppo import train as ppo
    from mujoco_playground import wrapper

    env = _cartpole_env()
    progress: list[dict] = []
    make_policy, params, _ = ppo.train(
        environment=env,
        wrap_env_fn=wrapper.wrap_for_brax_training,
        num_timesteps=2_000,
        episode_length=50,
        num_envs=8,
        batch_size=8,
        num_minibatches=2,
        unroll_length=10,
        num_updates_per_batch=1,
        num_evals=2,
        num_eval_envs=8,
        seed=0,
        progress_fn=lambda step, m: progress.append(dict(m)),
    )
    assert progress, "PPO never reported progress"
    final = progress[-1]
    for term in env.term_names:
        assert f"eval/episode_reward/{term}" in final
    assert np.isfinite(float(final["eval/episode_reward"]))
    policy = make_policy(params, deterministic=True)
    obs = env.reset(jax.random.PRNGKey(0)).obs[None]
    action, _ = policy(obs, jax.random.PRNGKey(0))
    assert action.shape == (1, env.action_size)


TWO_UNIT_TERMS = """
def compute_reward(s, action):
    return {"a": 1.0 + 0.0 * s.time, "b": 1.0 + 0.0 * s.time}
"""


def test_total_that_overflows_is_sanitised_in_both_envs(tiny_scene: str) -> None:
    # Two finite terms of 3e38 sum to infinity in float32: the total counts as 0, like a NaN term.
    for scene in ("CartpoleBalance", tiny_scene):
        reward = compile_reward(TWO_UNIT_TERMS, scene).with_weights({"a": 3e38, "b": 3e38})
        env = make_env(scene, reward)
        state = jax.jit(env.reset)(jax.random.PRNGKey(0))
        nxt = jax.jit(env.step)(state, jnp.zeros(env.action_size))
        assert float(nxt.metrics["reward/a"]) == pytest.approx(3e38, rel=1e-6)  # each term is finite
        assert np.isfinite(float(nxt.reward)) and float(nxt.reward) == 0.0, scene
