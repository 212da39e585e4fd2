"""`tabrl teach`'s own logic (the whole loop runs in tests/bench/test_behaviours_slice.py, heavy)."""

from __future__ import annotations

from tabrl.authoring.approach import Approach
from tabrl.cli.teach import batch_items

REWARD = 'def compute_reward(s, action):\n    return {"up": s.body_upright(s.base)}\n'
PROGRAM = "def command(t):\n    return (0.5, 0.0, 0.0)\n"


def _approaches() -> list[Approach]:
    return [
        Approach(name="Up", level="from_scratch", reward_code=REWARD, steps=1_500_000),
        Approach(
            name="Tune", level="fine_tune", reward_code=REWARD, steps=2_000_000, base_id="cartpole-balance"
        ),
        Approach(name="Walk", level="command", commands=PROGRAM, base_id="go1-joystick"),
    ]


def test_steps_replace_the_plan_of_trained_approaches_only() -> None:
    # `--steps` once called dataclasses.replace on the pydantic batch items and failed every run.
    items = batch_items(_approaches(), 500_000)
    assert [(i.name, i.level, i.steps) for i in items] == [
        ("Up", "from_scratch", 500_000), ("Tune", "fine_tune", 500_000), ("Walk", "command", None)
    ]  # fmt: skip


def test_without_steps_each_approach_keeps_its_plan() -> None:
    assert [i.steps for i in batch_items(_approaches(), None)] == [1_500_000, 2_000_000, None]
