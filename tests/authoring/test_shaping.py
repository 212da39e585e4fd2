"""Rewards shaped from a success check's measures (`tabrl.authoring.shaping`): they ask for what the
check measures, guards gate the asked-for terms, and every approach compiles on its scene."""

from __future__ import annotations

import math

import pytest

from tabrl.authoring.composer import compose, from_intent
from tabrl.authoring.intent import Measure, measures, parse_intent
from tabrl.authoring.profile import build_profile
from tabrl.authoring.shaping import factors, shaped_terms, styles
from tabrl.scenes import robot_card

CART_RIGHT = "balance the pole while keeping the cart on the right side of the track"


def _profile(scene: str):
    return build_profile(robot_card(scene))


def test_a_fraction_goal_wants_its_condition_and_a_bound_aims_past_the_line() -> None:
    up = factors(Measure("upright", "s.body_upright('pole') > 0.9", ">= 0.7", ""))
    # An uprightness pulls all the way to vertical: (1 + cos) / 2, whatever the style; held still there
    # (a spinning pole is up half the time), never zeroed by its spin.
    assert up[0].x == "s.body_upright('pole')" and up[0].lo == 1.0 and math.isinf(up[0].hi)
    assert up[0].margin == 2.0 and up[0].sigmoid == "linear"
    assert len(up) == 2 and up[1].x == "jnp.linalg.norm(s.body_angvel('pole'))" and 0 < up[1].floor < 1
    code = up[1].code(styles()[0])
    assert code.startswith("(0.5 + 0.5 * tolerance(") and 'sigmoid="gaussian"' in code
    both = factors(Measure("not_fallen", "jnp.logical_and(s.body_upright(s.base) > 0.5, s.body_height(s.base) > 0.2)",
                           ">= 0.9", ""))  # fmt: skip
    # A robot's base may rotate (hop, turn): only a pole is also held still.
    assert [f.x for f in both] == ["s.body_upright(s.base)", "s.body_height(s.base)"]
    back = factors(Measure("forward_speed", "s.body_linvel(s.base)[0]", "< -1.0", ""))
    assert math.isinf(back[0].lo) and back[0].hi < -1.0  # aims beyond the check's bound
    # ...and pulls from rest: the ramp reaches back to a speed of 0.
    assert back[0].margin >= -back[0].hi
    (fwd,) = factors(Measure("forward_speed", "s.body_linvel(s.base)[0]", "> 0.5", ""))
    assert fwd.lo > 0.5 and fwd.margin >= fwd.lo
    (drift,) = factors(Measure("drift", "jnp.abs(v)", "< 0.3", ""))  # a limit on a size keeps its margin
    assert drift.hi < 0.3 and drift.margin == pytest.approx(1.2)
    band = factors(Measure("x", "s.joint_angle('slider')", "between -0.3 and 0.3", "", margin=0.9))
    assert (band[0].lo, band[0].hi, band[0].margin) == (-0.3, 0.3, 0.9)
    assert factors(Measure("moving", "jnp.abs(v) > 0.3", "<= 0.2", "")) == []


def test_the_cart_on_the_right_counts_only_while_the_pole_is_up() -> None:
    # Measured (bench/README.md): the sum of "pole up" and "cart right" trained a cart parked right with
    # the pole up 41 % of the time; gated by the pole, upright 100 % with the cart at +0.46 m.
    profile = _profile("CartpoleBalance")
    found = measures(parse_intent(CART_RIGHT), profile)
    assert {m.name: m.guard for m in found} == {"cart_x": False, "upright": True}
    by_key = {s.key: s for s in styles()}
    gated = {t.name: t for t in shaped_terms(found, by_key["gated"])}
    assert gated["cart_x"].expr.startswith("safe * tolerance(s.joint_angle('slider')")
    # On the right, not in the end stop (the rail ends at 1.8 m; a cart driven there drops its pole).
    (cart,) = factors(next(m for m in found if m.name == "cart_x"))
    assert 0.306 < cart.lo < cart.hi < 1.5
    assert "safe = " in gated["cart_x"].setup[0] and "pole_1" in gated["cart_x"].setup[0]
    assert sum(t.weight for t in gated.values()) == pytest.approx(1.0)
    parts = {t.name: t for t in shaped_terms(found, by_key["parts"])}
    assert not parts["cart_x"].expr.startswith("safe") and parts["effort"].weight > 0


def test_the_composer_offers_each_shaping_of_the_same_measures_and_they_compile() -> None:
    from tabrl.authoring.generate import check_code

    profile = _profile("CartpoleBalance")
    out = compose(CART_RIGHT, profile, 3, level="from_scratch")
    assert [c.motif for c in out] == ["intent:gated", "intent:ramp", "intent:parts"]
    for c in out:
        assert "s.joint_angle('slider')" in c.reward_code and "pole_1" in c.reward_code
        valid, terms, errors = check_code(c.reward_code, "CartpoleBalance", "test-shaping", env_check=False)
        assert valid, errors
        assert set(terms) == set(c.terms)
    # More approaches than shaping styles: the motifs fill the rest.
    more = compose(CART_RIGHT, profile, 5, level="from_scratch")
    assert len(more) == 5 and not more[3].motif.startswith("intent:")


def test_a_high_tip_is_a_height_ramp_from_hanging_down_in_three_shapings() -> None:
    # The acrobot's tip: the offline composer used to ask for both links upright (reached by no
    # approach in 5 M steps); the tip's height pulls from anywhere and ranks partial swings.
    out = compose(
        "swing the acrobot up so its tip is high", _profile("AcrobotSwingup"), 3, level="from_scratch"
    )
    assert [c.motif for c in out] == ["intent:gated", "intent:ramp", "intent:parts"]
    for c in out:
        assert "tolerance((s.site_pos('tip')[2] - 2) / 2, bounds=(0.8, jnp.inf), margin=1.5" in c.reward_code
        assert "body_upright" not in c.reward_code


def test_backwards_is_a_backward_speed_below_zero() -> None:
    out = compose("run backwards as fast as possible", _profile("CheetahRun"), 3, level="from_scratch")
    for c in out:
        assert '"backward_speed"' in c.reward_code and '"forward_speed"' not in c.reward_code, c.reward_code
        assert "bounds=(-jnp.inf, -" in c.reward_code


@pytest.mark.parametrize(
    "scene,prompt",
    [
        ("CheetahRun", "march like a soldier"),  # a manner
        ("CartpoleBalance", "keep shaking your hips aloha dude!"),  # a rhythm
        ("Go1JoystickFlatTerrain", "walk backwards"),  # legged: gaits and poses are the motifs' job
    ],
)
def test_manners_rhythms_and_legged_robots_keep_the_motifs(scene: str, prompt: str) -> None:
    assert from_intent(prompt, _profile(scene)) == []


def test_shaping_styles_are_data() -> None:
    keys = [s.key for s in styles()]
    assert keys == ["gated", "ramp", "parts"]
    assert all(0 <= s.guard_share < 1 for s in styles())
