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
    ("command", "forward", "yaw"),
    [((0.7, 0.0, 0.0), (0.4, None), (None, None)), ((0.0, 0.0, 0.0), (-0.15, 0.15), (-0.3, 0.3))],
    ids=["forward", "stand"],
)
def test_go1_joystick_follows_commands(tmp_path, command, forward, yaw) -> None:
    stats = _play(tmp_path, f"def command(t):\n    return {command}\n")
    speed, turn = float(np.median(stats.forward_speed)), float(np.median(stats.yaw_rate))
    assert stats.fell.sum() <= 1, f"{stats.fell.sum()} of 8 fell"
    lo, hi = forward
    assert (lo is None or speed >= lo) and (hi is None or speed <= hi), speed
    lo, hi = yaw
    assert (lo is None or turn >= lo) and (hi is None or turn <= hi), turn


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
