"""Success checks: the language (goals, errors with lines) and the judging of rollouts."""

from __future__ import annotations

import numpy as np
import pytest

from tabrl.rewards.checks import Goal, check_success, compile_success, judge
from tabrl.rewards.result import RewardCompileError

CART = """def measure(s):
    return {"cart_x": s.joint_angle("slider"), "upright": s.body_upright("pole_1") > 0.9}

GOALS = {"cart_x": "> 0.3", "upright": ">= 0.9"}
SETTLE_S = 1.0
"""


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("> 0.3", 0.31, 0.3 - 1e-3),
        ("<= -0.2", -0.2, -0.19),
        ("between 1.5 and 0.5", 1.0, 1.6),
        (">=0.9", 0.9, 0.5),
    ],
)
def test_goal_parses_and_judges(text, inside, outside) -> None:
    goal = Goal.parse(text)
    assert goal.met(inside) and not goal.met(outside)
    assert goal.progress(inside) == 1.0
    assert 0.0 < goal.progress(outside) < 1.0


def test_goal_progress_grows_as_the_value_nears_the_goal() -> None:
    goal = Goal.parse("> 1.0")
    assert goal.progress(-1.0) < goal.progress(0.0) < goal.progress(0.9) < 1.0
    assert goal.progress(float("nan")) == 0.0


def test_unknown_goal_syntax_is_refused() -> None:
    with pytest.raises(ValueError, match="between a and b"):
        Goal.parse("about 0.3")


def test_a_valid_check_compiles_on_its_scene() -> None:
    check = compile_success(CART, "CartpoleBalance")
    assert check.names == ("cart_x", "upright")
    assert check.settle_s == 1.0 and set(check.goals) == {"cart_x", "upright"}


@pytest.mark.parametrize(
    ("code", "line", "words"),
    [
        (CART.replace('"cart_x": "> 0.3"', '"cartx": "> 0.3"'), 4, "GOALS names 'cartx'"),
        (CART.replace("> 0.3", "about 0.3"), 4, "between a and b"),
        (CART.replace('"slider"', '"slidr"'), 2, "closest joint names: slider"),
        (CART.replace("SETTLE_S = 1.0", "SETTLE_S = 99.0"), 5, "SETTLE_S must be in"),
        ("def measure(s):\n    return 3\nGOALS = {'x': '> 1'}\n", 2, "measure must return a dict"),
        ("def measure(s, a):\n    return {}\nGOALS = {'x': '> 1'}\n", 1, "exactly one argument"),
        ("def measure(s):\n    return {'x': 1.0}\nGOALS = {'x': 1}\n", 3, "GOALS must be a dict"),
    ],
)
def test_errors_say_where_and_how_to_fix(code, line, words) -> None:
    errors = check_success(code, "CartpoleBalance")
    assert errors, code
    assert any(e.line == line and words in e.message for e in errors), errors


def test_missing_parts_are_named() -> None:
    errors = check_success("def measur(s):\n    return {}\n", "CartpoleBalance")
    text = " ".join(e.message for e in errors)
    assert "def measure(s):" in text and "rename it" in text and "define GOALS" in text
    with pytest.raises(RewardCompileError, match="success check"):
        compile_success("def measur(s):\n    return {}\n", "CartpoleBalance")


def test_judge_averages_the_judged_steps_and_counts_falls() -> None:
    check = compile_success(CART, "CartpoleBalance")
    dt, steps = 0.5, 8  # SETTLE_S = 1.0: the first two steps are not judged
    cart = np.tile(np.array([9.0, 9.0, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]), (4, 1))
    upright = np.ones((4, steps))
    alive = np.ones((4, steps), bool)
    verdict = judge(check, {"cart_x": cart, "upright": upright}, alive, dt)
    assert verdict.passed and verdict.score == 1.0 and verdict.pass_rate == 1.0
    assert verdict.values["cart_x"] == pytest.approx(0.4) and verdict.fell == 0.0
    assert "cart_x 0.40 (> 0.3)" in verdict.figure

    # Two of four rollouts end early (a fall): over the 25 % allowed, the check fails even though
    # the steps they lived meet the goals.
    alive[:2, 5:] = False
    verdict = judge(check, {"cart_x": cart, "upright": upright}, alive, dt)
    assert not verdict.passed and verdict.fell == 0.5 and verdict.pass_rate == 0.5
    assert "fell 50%" in verdict.figure


def test_judge_scores_near_misses_above_far_misses() -> None:
    check = compile_success(CART, "CartpoleBalance")
    alive, ones = np.ones((2, 4), bool), np.ones((2, 4))
    near = judge(check, {"cart_x": np.full((2, 4), 0.25), "upright": ones}, alive, 0.5)
    far = judge(check, {"cart_x": np.full((2, 4), -0.5), "upright": ones}, alive, 0.5)
    assert not near.passed and not far.passed
    assert far.score < near.score < 1.0
    assert near.met == {"cart_x": False, "upright": True}
