"""The left-right mirror of a legged robot: derived from the model, checked against its physics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tabrl.errors import TabRLError
from tabrl.rewards.host_env import HostSceneEnv
from tabrl.training.backends.mujoco import env_config_for
from tabrl.training.config import ConfigError, TrainConfig
from tabrl.training.symmetry import mirror_maps


def _env(scene: str, num_envs: int = 2, commands: bool = True) -> HostSceneEnv:
    cfg = TrainConfig(backend="mujoco", command_range=(1.0, 0.5, 1.0) if commands else None)
    env_config = dataclasses.replace(env_config_for(cfg, 1000), terminate_on_fall=False)
    return HostSceneEnv(scene, None, env_config, num_envs=num_envs, seed=0)


@pytest.fixture(scope="module")
def go1() -> HostSceneEnv:
    return _env("Go1JoystickFlatTerrain")


def test_go1_legs_pair_left_with_right(go1: HostSceneEnv) -> None:
    maps = mirror_maps(go1.conventions)
    # Actuators FR, FL, RR, RL (hip, thigh, calf each): front-right <-> front-left, rear-right <-> rear-left;
    # hip abduction (axis x) flips sign, thigh and calf (axis y) keep it.
    assert maps.act_perm.tolist() == [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]
    assert maps.act_sign.tolist() == [-1, 1, 1] * 4
    # Both mirrors are involutions: mirrored twice is the original.
    x = np.random.default_rng(0).normal(size=(5, go1.observation_size)).astype(np.float32)
    np.testing.assert_array_equal(maps.mirror_obs(maps.mirror_obs(x)), x)
    a = x[:, : go1.action_size]
    np.testing.assert_array_equal(maps.mirror_action(maps.mirror_action(a)), a)
    # The command's sideways speed and yaw rate flip; forward does not.
    command = maps.mirror_obs(np.arange(go1.observation_size, dtype=np.float32))[-3:]
    n = go1.observation_size
    assert command.tolist() == [n - 3, -(n - 2), -(n - 1)]


def test_the_mirror_of_a_state_steps_into_the_mirror_of_its_next_state(go1: HostSceneEnv) -> None:
    """Physics check of the maps: a state and its mirror image, driven by mirrored actions, observe
    mirrored observations (in the air: contacts on a pyramidal friction cone are not exactly symmetric)."""
    maps = mirror_maps(go1.conventions)
    rng = np.random.default_rng(1)
    go1.reset()
    q = np.asarray(go1.conventions.qpos0, dtype=np.float64).copy()
    q[:3] += (0.1, 0.2, 1.0)
    q[3:7] = np.array([0.98, 0.05, 0.08, 0.15]) / np.linalg.norm([0.98, 0.05, 0.08, 0.15])
    q[7:] += rng.uniform(-0.2, 0.2, 12)
    v = rng.normal(0.0, 0.5, 18)
    joints = maps.act_perm  # the Go1's actuators drive its joints in joint order
    qm, vm = q.copy(), v.copy()
    qm[1], qm[3:7], qm[7:] = -q[1], q[3:7] * (1, -1, 1, -1), q[7:][joints] * maps.act_sign
    vm[:6], vm[6:] = v[:6] * (1, -1, 1, -1, 1, -1), v[6:][joints] * maps.act_sign
    go1.set_state(np.stack([q, qm]), np.stack([v, vm]))
    command = np.array([0.5, 0.3, 0.7], np.float32)
    go1.set_commands(np.stack([command, command * (1, -1, -1)]).astype(np.float32))
    action = rng.uniform(-1, 1, 12).astype(np.float32)
    obs = go1.observe(np.stack([action, maps.mirror_action(action)]))
    np.testing.assert_allclose(maps.mirror_obs(obs[0]), obs[1], atol=1e-5)
    for _ in range(3):
        action = rng.uniform(-0.1, 0.1, 12).astype(np.float32)
        obs = go1.step(np.stack([action, maps.mirror_action(action)])).obs
    # Left and right links' inertias differ slightly in the model: small, not zero.
    np.testing.assert_allclose(maps.mirror_obs(obs[0]), obs[1], atol=0.05)


def test_a_robot_without_a_mirror_is_refused() -> None:
    with pytest.raises(TabRLError, match="floating-base"):
        mirror_maps(_env("CartpoleBalance", 1, commands=False).conventions)
    with pytest.raises(ConfigError, match="symmetry_cost"):
        TrainConfig(symmetry_cost=-1.0)
