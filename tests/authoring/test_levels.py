"""The progressive strategy (`plan_levels`) and the choreography routines (level 1 programs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tabrl.authoring.choreography import mean_command, rank_routines, routines
from tabrl.authoring.levels import BUDGETS, CHOREOGRAPHY_MATCH, plan_levels
from tabrl.rewards.commands import check_commands, compile_commands
from tabrl.scenes.bases import BasePolicy

GO1_RANGE = (1.0, 0.5, 1.0)


def _base(base_id: str, kind: str, command_range=None, title: str = "") -> BasePolicy:
    return BasePolicy(
        id=base_id, scene_id="Go1JoystickFlatTerrain", title=title or base_id, kind=kind, description="",
        dir=Path("/nonexistent"), source="shipped", reproduce=f"tabrl base train {base_id}",
        backend="mujoco", steps=1000, eval_reward=None, train_wall_s=None, trained_on="cpu",
        command_range=command_range,
    )  # fmt: skip


JOYSTICK = _base("go1-joystick", "joystick", GO1_RANGE, "Go1 joystick")
TASK = _base("go1-task", "task", None, "Go1 walker")


def _levels(plans) -> list[str]:
    return [p.level for p in plans]


def _bases(plans) -> list[str | None]:
    return [p.base_id for p in plans]


# --- budget "instant" ----------------------------------------------------------------------------


@pytest.mark.parametrize("choreography", [True, False])
def test_instant_with_a_joystick_base_plays_command_programs(choreography: bool) -> None:
    plans = plan_levels("instant", JOYSTICK, 3, choreography=choreography)
    assert _levels(plans) == ["command"] * 3 and _bases(plans) == ["go1-joystick"] * 3
    assert "Go1 joystick" in plans[0].why and "no training" in plans[0].why


def test_instant_with_a_task_base_fine_tunes() -> None:
    plans = plan_levels("instant", TASK, 2, choreography=True)
    assert _levels(plans) == ["fine_tune"] * 2 and _bases(plans) == ["go1-task"] * 2
    assert "Go1 walker" in plans[0].why


def test_instant_without_a_base_trains_from_scratch() -> None:
    plans = plan_levels("instant", None, 3, choreography=True)
    assert _levels(plans) == ["from_scratch"] * 3 and _bases(plans) == [None] * 3
    assert "no base policy" in plans[0].why


# --- budget "minutes" ----------------------------------------------------------------------------


def test_minutes_with_a_joystick_base_and_a_choreography() -> None:
    plans = plan_levels("minutes", JOYSTICK, 3, choreography=True)
    assert _levels(plans) == ["command", "fine_tune", "fine_tune"]
    assert _bases(plans) == ["go1-joystick"] * 3
    assert "choreography" in plans[0].why and "fine-tunes" in plans[1].why.lower()
    # One approach: the choreography.
    assert _levels(plan_levels("minutes", JOYSTICK, 1, choreography=True)) == ["command"]


def test_minutes_with_a_joystick_base_and_no_choreography_fine_tunes() -> None:
    plans = plan_levels("minutes", JOYSTICK, 3, choreography=False)
    assert _levels(plans) == ["fine_tune"] * 3 and _bases(plans) == ["go1-joystick"] * 3


def test_minutes_with_a_task_base_never_plays_commands() -> None:
    plans = plan_levels("minutes", TASK, 3, choreography=True)
    assert _levels(plans) == ["fine_tune"] * 3 and _bases(plans) == ["go1-task"] * 3


def test_minutes_without_a_base() -> None:
    plans = plan_levels("minutes", None, 2, choreography=False)
    assert _levels(plans) == ["from_scratch"] * 2 and _bases(plans) == [None] * 2


# --- budget "unlimited" --------------------------------------------------------------------------


def test_unlimited_trains_from_scratch() -> None:
    plans = plan_levels("unlimited", JOYSTICK, 3, choreography=True)
    assert _levels(plans) == ["command", "from_scratch", "from_scratch"]
    assert _bases(plans) == ["go1-joystick", None, None]
    assert "Go1 joystick" in plans[1].why
    assert _levels(plan_levels("unlimited", JOYSTICK, 3, choreography=False)) == ["from_scratch"] * 3
    task = plan_levels("unlimited", TASK, 2, choreography=True)
    assert _levels(task) == ["from_scratch"] * 2 and "Go1 walker" in task[0].why
    none = plan_levels("unlimited", None, 2, choreography=True)
    assert _levels(none) == ["from_scratch"] * 2 and _bases(none) == [None] * 2


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("base", [JOYSTICK, TASK, None], ids=["joystick", "task", "none"])
@pytest.mark.parametrize("choreography", [True, False])
def test_every_plan_says_why(budget: str, base, choreography: bool) -> None:
    for n in (1, 3, 5):
        plans = plan_levels(budget, base, n, choreography=choreography)
        assert len(plans) == n
        for p in plans:
            assert p.why.strip() and "  " not in p.why, p
            assert p.level in ("command", "fine_tune", "from_scratch")
            # Only a joystick base plays commands; only a plan with a base fine-tunes.
            if p.level == "command":
                assert base is JOYSTICK and p.base_id == base.id
            if p.level == "fine_tune":
                assert base is not None and p.base_id == base.id


def test_unknown_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="instant"):
        plan_levels("weekend", JOYSTICK, 3, choreography=True)


# --- choreography routines -----------------------------------------------------------------------


def test_routines_are_unique_and_complete() -> None:
    table = routines()
    keys = [r.key for r in table]
    assert len(keys) == len(set(keys)) >= 6
    assert {"square", "zigzag", "circle", "spin_then_walk", "dance", "hula"} <= set(keys)
    for r in table:
        assert r.title and r.blurb and r.phrases and "def command(t)" in r.program


@pytest.mark.parametrize("routine", routines(), ids=lambda r: r.key)
def test_every_routine_compiles_within_the_go1_range(routine) -> None:
    result = check_commands(routine.program, GO1_RANGE)
    assert result.valid, result.errors
    assert result.warnings == [], result.warnings
    program = compile_commands(routine.program, GO1_RANGE)
    values = program.sample(20.0, 0.1)
    assert values.shape == (200, 3)
    # The robot is asked to move at some point (except the routine that stands still).
    if routine.key != "stand":
        assert abs(values).max() > 0.1


@pytest.mark.parametrize(
    ("prompt", "key"),
    [
        ("walk in a square", "square"),
        ("zigzag across the room", "zigzag"),
        ("walk in a circle", "circle"),
        ("walk in a clockwise circle", "circle_clockwise"),
        ("spin clockwise on the spot", "spin_clockwise"),
        ("spin on the spot, then walk away", "spin_then_walk"),
        ("dance", "dance"),
        ("keep shaking your hips aloha dude!", "hula"),
        ("turn on the spot to the left", "spin"),
        ("turn on the spot to the right", "spin_clockwise"),
        ("walk backwards", "backward"),
    ],
)
def test_ranking_picks_the_routine_the_prompt_asks_for(prompt: str, key: str) -> None:
    ranked = rank_routines(prompt)
    assert ranked[0][0].key == key, [(r.key, round(s, 3)) for r, s in ranked[:3]]
    assert ranked[0][1] >= CHOREOGRAPHY_MATCH
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True) and len(ranked) <= len(routines())


def test_no_routine_goes_against_the_asked_direction() -> None:
    # Sentence similarity does not tell left from right: "turn on the spot to the left" matched "turn
    # clockwise on the spot" best, a command approach that turned the Go1 right.
    left = {r.key for r, _ in rank_routines("turn on the spot to the left")}
    assert "spin" in left and not {"spin_clockwise", "circle_clockwise"} & left
    back = {r.key for r, _ in rank_routines("walk backwards")}
    assert "backward" in back and not {"forward", "zigzag", "circle"} & back
    assert mean_command("spin_clockwise")[2] < 0 < mean_command("spin")[2]
    # No direction asked: every routine stays a candidate.
    assert len(rank_routines("dance")) == len(routines())


def test_ranking_is_deterministic() -> None:
    a = [(r.key, s) for r, s in rank_routines("walk in a square")]
    b = [(r.key, s) for r, s in rank_routines("walk in a square")]
    assert a == b
