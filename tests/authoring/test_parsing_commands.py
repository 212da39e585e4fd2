"""Reading command-program approaches (level "command") out of model answers."""

from __future__ import annotations

import json

import pytest

from tabrl.authoring.parsing import normalise, parse_approaches

PROGRAM = "def command(t):\n    return (0.6, 0.0, jnp.where(t < 2.0, 0.0, 1.0))\n"
REWARD = 'def compute_reward(s, action):\n    return {"up": s.body_upright(s.base)}\n'


def _one(item: dict):
    return normalise(item)


def test_command_approach_needs_no_reward() -> None:
    p = _one({"name": "Turn", "description": "walk then turn", "level": "command", "commands": PROGRAM})
    assert p.errors == []
    assert p.level == "command" and p.commands == PROGRAM and p.reward_code == "" and p.steps == 0


def test_command_level_without_commands_is_a_schema_error() -> None:
    p = _one({"name": "Turn", "description": "d", "level": "command"})
    assert p.errors and any("commands" in e["message"] for e in p.errors), p.errors
    assert p.level == "command" and p.commands is None
    # Reward code alone does not make a command approach.
    p = _one({"name": "Turn", "description": "d", "level": "command", "reward_code": REWARD})
    assert any("commands" in e["message"] for e in p.errors), p.errors


def test_commands_too_short_is_a_schema_error() -> None:
    p = _one({"name": "x", "description": "d", "level": "command", "commands": "pass"})
    assert any(e["message"].startswith("commands") for e in p.errors), p.errors


def test_training_levels_still_need_reward_code() -> None:
    p = _one({"name": "Walk", "description": "d", "level": "fine_tune", "commands": PROGRAM})
    assert any("reward_code" in e["message"] for e in p.errors), p.errors
    ok = _one(
        {"name": "Walk", "description": "d", "level": "fine_tune", "reward_code": REWARD, "steps": 5000}
    )
    assert ok.errors == [] and ok.level == "fine_tune" and ok.steps == 0 and ok.commands is None


@pytest.mark.parametrize("key", ["commands", "program", "command_program", "command_code"])
def test_command_aliases(key: str) -> None:
    p = _one({"name": "Turn", "description": "d", "level": "command", key: PROGRAM})
    assert p.errors == [] and p.commands == PROGRAM


@pytest.mark.parametrize(
    "level", ["command", "Command", "commands", "command program", "command-program", "level 1", "play"]
)
def test_command_level_aliases(level: str) -> None:
    p = _one({"name": "Turn", "description": "d", "level": level, "commands": PROGRAM})
    assert p.level == "command" and p.errors == [], (level, p.errors)


def test_fenced_program_is_unwrapped() -> None:
    p = _one({"name": "T", "description": "d", "level": "command", "program": f"```python\n{PROGRAM}```"})
    assert p.commands == PROGRAM and p.errors == []


def test_mixed_answer_and_a_single_program_object() -> None:
    answer = {
        "approaches": [
            {"name": "Square", "description": "a square", "level": "command", "commands": PROGRAM},
            {"name": "Walk", "description": "fine-tune", "level": "fine_tune", "reward_code": REWARD},
        ]
    }
    a, b = parse_approaches("Here you go:\n```json\n" + json.dumps(answer) + "\n```")
    assert (a.level, a.steps, a.commands, a.errors) == ("command", 0, PROGRAM, [])
    assert (b.level, b.steps, b.reward_code, b.errors) == ("fine_tune", 0, REWARD, [])
    # One bare approach object that only has a program.
    (only,) = parse_approaches(json.dumps({"name": "Solo", "level": "command", "program": PROGRAM}))
    assert only.level == "command" and only.commands == PROGRAM and only.errors == []
