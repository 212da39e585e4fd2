"""Level 1: `command_policy` writes a policy folder -- a joystick base playing a command program."""

from __future__ import annotations

import json

import pytest

from tabrl.errors import TabRLError
from tabrl.policies import read_manifest
from tabrl.policies.commands import COMMANDS_FILE, command_policy
from tabrl.rewards.result import RewardCompileError

SQUARE = """def command(t):
    return schedule(t, [(2.5, (0.6, 0.0, 0.0)), (pi / 2, (0.0, 0.0, 1.0))] * 4)
"""


def test_writes_a_command_policy_folder(go1_joystick_base, tmp_path) -> None:
    base = go1_joystick_base
    out = tmp_path / "square"
    manifest = command_policy(base.dir, SQUARE, out, name="square", policy_id="go1-square-1")
    assert manifest.id == "go1-square-1" and manifest.level == "command" and manifest.commands == SQUARE
    # Files: the base's parameters, unchanged; the manifest; the program.
    assert (out / "params.msgpack").read_bytes() == (base.dir / "params.msgpack").read_bytes()
    assert (out / COMMANDS_FILE).read_text() == SQUARE
    raw = json.loads((out / "manifest.json").read_text())
    assert raw["level"] == "command" and raw["commands"] == SQUARE and raw["id"] == "go1-square-1"
    # Readable as any policy, with the base's network and conventions.
    read = read_manifest(out)
    base_manifest = read_manifest(base.dir)
    assert read.level == "command" and read.commands == SQUARE and read.reward.name == "square"
    assert read.scene_id == base.scene_id == "Go1JoystickFlatTerrain"
    assert read.network == base_manifest.network
    assert (read.observation_size, read.action_size) == (
        base_manifest.observation_size,
        base_manifest.action_size,
    )
    assert read.config["command_range"] == base_manifest.config["command_range"]
    assert read.backend == base_manifest.backend
    assert read.base_policy["id"] == base_manifest.id and read.base_policy["scene_id"] == base.scene_id
    assert read.metrics == [] and read.kind == "final" and read.created_at
    # No staging folders left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["square"]


def test_default_id_and_overwrite(go1_joystick_base, tmp_path) -> None:
    out = tmp_path / "p"
    first = command_policy(go1_joystick_base.dir, SQUARE, out)
    assert (
        first.id.startswith("Go1JoystickFlatTerrain-") and first.id != read_manifest(go1_joystick_base.dir).id
    )
    spin = "def command(t):\n    return (0.0, 0.0, 1.0)\n"
    second = command_policy(go1_joystick_base.dir, spin, out)
    assert read_manifest(out).commands == spin == second.commands
    assert (out / COMMANDS_FILE).read_text() == spin
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_refuses_a_base_without_command_range(go1_joystick_base, base_writer, tmp_path) -> None:
    task = base_writer(
        tmp_path / "bases", "go1-task", kind="task", command_range=None, like=go1_joystick_base.dir
    )
    out = tmp_path / "out"
    with pytest.raises(TabRLError, match="velocity commands") as info:
        command_policy(task, SQUARE, out)
    assert not isinstance(info.value, RewardCompileError)
    assert "joystick" in str(info.value)
    assert not out.exists()


def test_refuses_an_invalid_program_with_lines(go1_joystick_base, tmp_path) -> None:
    out = tmp_path / "out"
    bad = "def command(t):\n    if t < 2.0:\n        return (0.5, 0.0, 0.0)\n    return (0.0, 0.0, 0.0)\n"
    with pytest.raises(RewardCompileError) as info:
        command_policy(go1_joystick_base.dir, bad, out)
    assert info.value.errors[0].line == 2 and "jnp.where" in info.value.errors[0].message
    with pytest.raises(RewardCompileError, match="command"):
        command_policy(go1_joystick_base.dir, "def cmd(t):\n    return (0.0, 0.0, 0.0)\n", out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_program_beyond_the_range_is_accepted(go1_joystick_base, tmp_path) -> None:
    # Clipping is a warning, not an error: the policy is written.
    fast = "def command(t):\n    return (5.0, 0.0, 0.0)\n"
    assert command_policy(go1_joystick_base.dir, fast, tmp_path / "fast").commands == fast
