"""What the shipped base policies do, measured by rolling them out (not by their reward).

The Go1 joystick policy follows commands (level 1 plays programs on it), and fine-tuning it keeps
its conventions. Heavy: each rollout loads the scene and steps MuJoCo C for seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from tabrl.policies import read_manifest
from tabrl.policies.commands import command_policy
from tabrl.scenes.bases import get_base, list_bases
from tabrl.training.backends.mujoco import rollout_stats

pytestmark = pytest.mark.heavy


def _play(tmp_path, program: str, seconds: float = 8.0):
    out = tmp_path / "play"
    command_policy(get_base("go1-joystick").dir, program, out)
    return rollout_stats(out, num_envs=8, seconds=seconds, seed=11)


def test_shipped_base_policies_are_listed() -> None:
    ids = {b.id: b for b in list_bases()}
    assert {"go1-joystick", "cartpole-balance"} <= set(ids)
    go1, cart = ids["go1-joystick"], ids["cartpole-balance"]
    assert go1.source == "shipped" and go1.joystick and go1.backend == "mujoco"
    assert go1.reproduce == "tabrl base train go1-joystick"
    assert cart.kind == "task" and not cart.joystick and cart.eval_reward > 900


@pytest.mark.parametrize(
    ("command", "forward", "sideways"),
    [
        ((0.6, 0.0, 0.0), (0.4, 0.9), (-0.25, 0.25)),
        ((-0.5, 0.0, 0.0), (-0.7, -0.3), (-0.25, 0.25)),
        # Sideways it drifts backwards (-0.2 m/s measured) and turns a little (0.16 rad/s).
        ((0.0, 0.4, 0.0), (-0.3, 0.2), (0.2, 0.6)),
        ((0.0, 0.0, 0.0), (-0.15, 0.15), (-0.15, 0.15)),
    ],
    ids=["forward", "backward", "left", "stand"],
)
def test_go1_joystick_follows_commands(tmp_path, command, forward, sideways) -> None:
    stats = _play(tmp_path, f"def command(t):\n    return {command}\n")
    speed, side = float(np.median(stats.forward_speed)), float(np.median(stats.lateral_speed))
    assert stats.fell.sum() <= 1, f"{stats.fell.sum()} of 8 fell"
    assert forward[0] <= speed <= forward[1], speed
    assert sideways[0] <= side <= sideways[1], side


@pytest.mark.parametrize("direction", [1.0, -1.0], ids=["counter-clockwise", "clockwise"])
def test_go1_joystick_turns_both_ways(tmp_path, direction: float) -> None:
    """A yaw command turns it, on the spot and while walking, both ways: it observes gravity in its
    own frame, not its world heading, so a turned robot sees what it trained on; and its last stage
    taught it its own mirror image, so it turns clockwise as it turns counter-clockwise."""
    on_spot = _play(tmp_path, f"def command(t):\n    return (0.0, 0.0, {direction})\n")
    walking = _play(tmp_path, f"def command(t):\n    return (0.5, 0.0, {0.5 * direction})\n")
    assert on_spot.fell.sum() == 0 and walking.fell.sum() == 0
    assert float(np.median(on_spot.yaw_rate)) * direction > 0.4, on_spot.yaw_rate
    assert float(np.median(walking.yaw_rate)) * direction > 0.35, walking.yaw_rate
    assert get_base("go1-joystick").turns


def test_walk_in_a_circle_traces_a_loop(tmp_path) -> None:
    """The composer's "walk in a circle" program, played on the base: the robot travels a loop (a
    long path that comes back near where it started) without falling."""
    from tabrl.authoring.choreography import routines
    from tabrl.policies import load_policy
    from tabrl.training.backends.mujoco import policy_env

    program = next(r.program for r in routines() if r.key == "circle")
    out = tmp_path / "circle"
    command_policy(get_base("go1-joystick").dir, program, out)
    env, policy = policy_env(read_manifest(out), num_envs=4, seed=3, episode_length=10**9), load_policy(out)
    obs, path = env.reset(), [env.qpos()[:, :2].copy()]
    for _ in range(round(8.0 / env.dt)):  # one lap of the program
        out_step = env.step(policy.numpy(obs))
        assert not (out_step.done & ~out_step.truncation).any(), "fell"
        obs = out_step.obs
        path.append(env.qpos()[:, :2].copy())
    xy = np.stack(path)
    length = np.linalg.norm(np.diff(xy, axis=0), axis=2).sum(axis=0)
    spread = xy.max(axis=0) - xy.min(axis=0)
    back = np.linalg.norm(xy[-1] - xy[0], axis=1)
    # The program asks for 3.2 m at 0.4 m/s while turning 0.8 rad/s (a lap of radius 0.5 m).
    assert (length > 1.2).all() and (spread > 0.4).all(), (length, spread)
    assert (back < 0.5 * length).all(), (back, length)


def test_fine_tune_keeps_the_joystick_conventions(tmp_path) -> None:
    """Level 2 from the joystick base: same backend, command input held at "stand still", network
    and command range kept; the run starts from the base's parameters (its baseline evaluation)."""
    from tabrl.rewards.commands import STAND_STILL
    from tabrl.rewards.reference import get_reference
    from tabrl.training import TrainRequest, resolve_config, run_training

    base = get_base("go1-joystick")
    ref = get_reference("go1_walk_backward")
    cfg = resolve_config(base.scene_id, steps=50_000, reward_source=ref.code, base_dir=base.dir)
    assert cfg.backend == "mujoco" and cfg.learning_rate == 1e-4
    result = run_training(
        TrainRequest(base.scene_id, tmp_path / "ft", config=cfg, reward_source=ref.code, base_policy=base.dir)
    )
    manifest, base_manifest = read_manifest(result.policy_dir), read_manifest(base.dir)
    assert manifest.level == "fine_tune" and manifest.commands == STAND_STILL
    assert manifest.config["command_range"] == base_manifest.config["command_range"]
    assert manifest.network == base_manifest.network and manifest.backend == "mujoco"
    assert manifest.base_policy["id"] == base_manifest.id
    assert manifest.metrics[0]["step"] == 0  # the base policy's score under the new reward
