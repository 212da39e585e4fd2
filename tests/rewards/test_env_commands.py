"""Velocity commands in the MuJoCo C env (`EnvConfig.command_range`), and their refusal on MJX."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tabrl.errors import TabRLError
from tabrl.rewards import make_env
from tabrl.rewards.commands import compile_commands
from tabrl.rewards.env import EnvConfig
from tabrl.rewards.host_env import HostSceneEnv

SCENE = "Go1JoystickFlatTerrain"
RANGE = (1.0, 0.5, 1.0)
#: Reward = the forward command (weight 1).
COMMAND_REWARD = 'def compute_reward(s, action):\n    return {"c": s.command[0]}\n'
#: Reads all three axes, so a zero command is visible in every term.
ALL_AXES_REWARD = """def compute_reward(s, action):
    return {"f": s.command[0], "y": s.command[1], "w": s.command[2]}
"""
N = 8


@functools.cache
def _env(resample_s: float = 5.0) -> HostSceneEnv:
    config = EnvConfig(command_range=RANGE, action_scale=0.3, command_resample_s=resample_s)
    return HostSceneEnv(SCENE, COMMAND_REWARD, config, num_envs=N, seed=3)


@functools.cache
def _plain_env() -> HostSceneEnv:
    return HostSceneEnv(SCENE, ALL_AXES_REWARD, EnvConfig(action_scale=0.3), num_envs=2, seed=0)


def _still(env: HostSceneEnv) -> np.ndarray:
    return np.zeros((env.num_envs, env.action_size), np.float32)


def test_observation_ends_with_the_command() -> None:
    env, plain = _env(), _plain_env()
    assert env.observation_size == plain.observation_size + 3
    env.follow(None)
    obs = env.reset()
    assert obs.shape == (N, env.observation_size)
    np.testing.assert_array_equal(obs[:, -3:], env.commands)
    assert np.abs(env.commands).sum() > 0  # not all zero: the check above is not vacuous
    for _ in range(3):
        out = env.step(_still(env))
        np.testing.assert_array_equal(out.obs[:, -3:], env.commands)
    # observe() too.
    np.testing.assert_array_equal(env.observe(env.prev_action)[:, -3:], env.commands)


def test_drawn_commands_lie_within_the_range_and_some_axes_are_zero() -> None:
    env = HostSceneEnv(
        SCENE, COMMAND_REWARD, EnvConfig(command_range=RANGE, action_scale=0.3), num_envs=64, seed=1
    )
    draws = []
    for _ in range(4):
        env.reset()
        draws.append(env.commands.copy())
    cmds = np.concatenate(draws)
    limit = np.asarray(RANGE, np.float32)
    assert (np.abs(cmds) <= limit + 1e-6).all()
    # command_zero_prob (0.3 by default): exactly-zero axes are common, and so are non-zero ones.
    zero = cmds == 0.0
    assert 0.1 < zero.mean() < 0.6, zero.mean()
    assert zero.any(axis=0).all()  # every axis is sometimes exactly 0
    # Spread over the range on every axis, both signs.
    assert (cmds.max(axis=0) > 0.5 * limit).all() and (cmds.min(axis=0) < -0.5 * limit).all()
    # Each simulation draws its own.
    assert len({tuple(row) for row in cmds}) > len(cmds) // 2


def test_zero_prob_setting_is_honoured() -> None:
    never = HostSceneEnv(
        SCENE, COMMAND_REWARD, EnvConfig(command_range=RANGE, command_zero_prob=0.0), num_envs=16, seed=2
    )
    never.reset()
    assert (never.commands != 0).all()
    always = HostSceneEnv(
        SCENE, COMMAND_REWARD, EnvConfig(command_range=RANGE, command_zero_prob=1.0), num_envs=4, seed=2
    )
    always.reset()
    np.testing.assert_array_equal(always.commands, 0.0)


def test_commands_are_redrawn_every_resample_period() -> None:
    env = _env(resample_s=0.1)
    every = round(0.1 / env.dt)
    assert every >= 2
    env.follow(None)
    env.reset()
    start = env.commands.copy()
    ended = np.zeros(N, bool)
    for _ in range(every - 1):
        ended |= env.step(_still(env)).done
    # Not yet due: unchanged (for simulations that did not restart).
    np.testing.assert_array_equal(env.commands[~ended], start[~ended])
    ended |= env.step(_still(env)).done
    changed = np.any(env.commands != start, axis=1)
    assert changed[~ended].sum() >= (~ended).sum() - 1, (env.commands, start)
    assert (np.abs(env.commands) <= np.asarray(RANGE) + 1e-6).all()


def test_reward_reads_the_command_the_policy_acted_on() -> None:
    env = _env()
    env.follow(None)
    env.reset()
    for _ in range(3):
        acted_on = env.commands.copy()
        out = env.step(_still(env))
        np.testing.assert_allclose(out.reward, acted_on[:, 0], atol=1e-6)
        np.testing.assert_allclose(out.terms["c"], acted_on[:, 0], atol=1e-6)
    assert np.abs(out.reward).max() > 0


def test_follow_a_program_of_episode_time() -> None:
    env = _env()
    # 0.1 s forward, then turn; the forward speed is beyond the range (clipped by the env).
    program = compile_commands(
        "def command(t):\n    return schedule(t, [(0.1, (2.0, 0.2, 0.0)), (10.0, (0.0, 0.0, -0.7))])\n"
    )
    env.follow(program)
    try:
        obs = env.reset()
        np.testing.assert_allclose(env.commands, np.tile([1.0, 0.2, 0.0], (N, 1)), atol=1e-6)
        np.testing.assert_array_equal(obs[:, -3:], env.commands)
        steps_in_first = round(0.1 / env.dt)
        for k in range(1, steps_in_first + 3):
            acted_on = env.commands.copy()
            out = env.step(_still(env))
            np.testing.assert_allclose(out.reward, acted_on[:, 0], atol=1e-6)
            t = env.steps.astype(np.float32) * np.float32(env.dt)  # episode time, as the env computes it
            expected = np.clip(program(t), -np.asarray(RANGE), np.asarray(RANGE))
            np.testing.assert_allclose(env.commands, expected, atol=1e-6, err_msg=f"step {k}")
        later = env.steps > steps_in_first
        assert later.any()
        np.testing.assert_allclose(
            env.commands[later], np.tile([0.0, 0.0, -0.7], (later.sum(), 1)), atol=1e-6
        )
        # Any function of time works (numpy in, (num_envs, 3) out).
        env.follow(lambda t: np.stack([np.full_like(t, 0.3), np.zeros_like(t), t], axis=-1))
        np.testing.assert_allclose(env.commands[:, 0], 0.3)
        np.testing.assert_allclose(env.commands[:, 2], np.minimum(env.steps * env.dt, 1.0), atol=1e-6)
    finally:
        env.follow(None)
    # None: random draws again.
    env.reset()
    assert len({tuple(row) for row in env.commands}) > 1


def test_set_commands_is_a_joystick() -> None:
    env = _env()
    env.follow(None)
    env.reset()
    env.set_commands(np.array([0.4, -0.1, 0.2]))
    np.testing.assert_allclose(env.commands, np.tile([0.4, -0.1, 0.2], (N, 1)))
    out = env.step(_still(env))
    np.testing.assert_allclose(out.reward, 0.4, atol=1e-6)


def test_env_without_commands() -> None:
    env = _plain_env()
    env.reset()
    out = env.step(_still(env))
    for name in ("f", "y", "w"):
        np.testing.assert_array_equal(out.terms[name], 0.0)
    np.testing.assert_array_equal(env.commands, 0.0)
    with pytest.raises(TabRLError, match="command_range"):
        env.follow(compile_commands("def command(t):\n    return (0.5, 0.0, 0.0)\n"))


def test_command_range_is_validated() -> None:
    with pytest.raises(TabRLError, match="command_range"):
        EnvConfig(command_range=(1.0, 0.5))  # type: ignore[arg-type]
    with pytest.raises(TabRLError, match="command_range"):
        EnvConfig(command_range=(1.0, -0.5, 1.0))
    with pytest.raises(TabRLError, match="command_resample_s"):
        EnvConfig(command_range=RANGE, command_resample_s=0.0)
    with pytest.raises(TabRLError, match="command_zero_prob"):
        EnvConfig(command_range=RANGE, command_zero_prob=1.5)


TINY_MJCF = """
<mujoco model="tiny_cmd_walker">
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="torso" pos="0 0 0.3">
      <freejoint name="root"/>
      <geom name="torso_geom" type="box" size="0.15 0.08 0.04" mass="1"/>
      <body name="leg" pos="0 0 0">
        <joint name="hip" type="hinge" axis="0 1 0" range="-1 1"/>
        <geom name="foot" type="capsule" fromto="0 0 0 0 0 -0.2" size="0.02" mass="0.1"/>
      </body>
    </body>
  </worldbody>
  <actuator><position name="hip" joint="hip" kp="20" ctrlrange="-1 1"/></actuator>
</mujoco>
"""


def test_mjx_scene_env_refuses_commands_and_names_the_mujoco_backend() -> None:
    from tabrl.rewards.env import SceneRewardEnv
    from tabrl.scenes import register_mjcf

    scene = register_mjcf("tiny_cmd_walker", xml=TINY_MJCF, category="locomotion").id
    assert isinstance(make_env(scene, None, EnvConfig()), SceneRewardEnv)
    with pytest.raises(TabRLError, match="mujoco") as info:
        make_env(scene, None, EnvConfig(command_range=RANGE))
    assert "command" in str(info.value)
