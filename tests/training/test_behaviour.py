"""Success checks judged on real rollouts of trained policies (both backends)."""

from __future__ import annotations

from tabrl.scenes.bases import get_base
from tabrl.training.behaviour import evaluate_check

UPRIGHT = """def measure(s):
    return {
        "upright": s.body_upright("pole_1") > 0.95,
        "cart_x": s.joint_angle("slider"),
    }

GOALS = {"upright": ">= 0.9", "cart_x": "between -0.2 and 0.2"}
"""


def test_the_balancing_base_passes_a_balance_check_and_fails_a_cart_position_one() -> None:
    """The shipped CartpoleBalance policy (MJX backend) keeps the pole up near the centre: a check
    for that passes; the same policy judged on "cart on the right" fails, with a figure that says so."""
    policy = get_base("cartpole-balance").dir
    verdict = evaluate_check(policy, UPRIGHT, rollouts=4, seconds=5.0)
    assert verdict.passed, verdict.figure
    assert verdict.values["upright"] > 0.95 and verdict.fell == 0.0

    right = UPRIGHT.replace('"between -0.2 and 0.2"', '"> 0.3"')
    verdict = evaluate_check(policy, right, rollouts=4, seconds=5.0)
    assert not verdict.passed and verdict.met == {"upright": True, "cart_x": False}
    assert "cart_x" in verdict.figure and "✗" in verdict.figure
