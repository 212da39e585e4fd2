"""Rule-based intents: what prompts ask for, and the success checks written for each scene."""

from __future__ import annotations

import dataclasses
import math
import re
from functools import cache

import pytest

from tabrl.authoring.intent import LEVELS, Intent, parse_intent, success_check, vocabulary
from tabrl.authoring.profile import RobotProfile, build_profile
from tabrl.rewards.checks import SuccessCheck, check_success, compile_success
from tabrl.scenes import robot_card

# prompt -> the fields it must parse to (a subset of Intent's fields and properties).
PARSES: dict[str, dict[str, object]] = {
    "run backwards as fast as possible": {"quantity": "speed", "sign": -1, "magnitude": "max"},
    "balance the pole while keeping the cart on the right side of the track": {
        "quantity": "position",
        "sign": 1,
        "constraints": ("upright",),
    },
    "swing up and hold the pendulum upright at the top": {
        "quantities": ("upright",),
        "swing_up": True,
        "directions": (),
        "constraints": ("hold",),
        "part": "pole",
    },
    "walk forward at 0.5 m/s": {"quantity": "speed", "sign": 1, "amounts": (("speed", 0.5),)},
    "spin clockwise": {"quantity": "turn", "direction": "cw", "sign": -1},
    "spin counter-clockwise at 2 turns per second": {"sign": 1, "amounts": (("rate", 4 * math.pi),)},
    "hop": {"quantities": ("hop",), "sign": 0},
    "hop forward": {"quantities": ("hop", "speed")},
    "wiggle left and right twice a second": {
        "quantity": "motion",
        "rhythm": "wiggle",
        "frequency_hz": 2.0,
        "directions": ("side_to_side",),
    },
    "walk like you're on the moon": {"quantity": "speed", "sign": 1, "magnitude": "low", "style": "moon"},
    "keep shaking your hips aloha dude!": {"quantity": "motion", "rhythm": "shake", "part": "hips"},
    "turn 90 degrees to the left": {"quantity": "turn", "sign": 1, "amounts": (("angle", math.pi / 2),)},
    "jump as high as you can": {"quantity": "jump", "magnitude": "max"},
    "jump 20 cm high": {"quantity": "jump", "amounts": (("length", 0.2),)},
    "crouch down low": {"quantity": "height", "sign": -1},
    "stand tall and proud": {"quantity": "height", "sign": 1},
    "stand up tall": {"quantity": "height", "sign": 1, "constraints": ("upright",)},
    "walk slowly backwards without falling": {
        "quantity": "speed",
        "sign": -1,
        "magnitude": "low",
        "constraints": ("no_fall",),
    },
    "back up": {"quantity": "speed", "sign": -1},
    "sprint!": {"quantity": "speed", "magnitude": "high"},
    "sidestep to the right": {"quantity": "lateral", "sign": -1},
    "dance on the spot": {"quantity": "motion", "rhythm": "dance", "constraints": ("in_place",)},
    "bend your knees": {"quantity": "joint", "part": "knees"},
    "reach the target": {"quantity": "reach"},
    "stand still": {"quantity": "still"},
    "do a backflip": {"quantity": "flip"},
    "bob up and down every 2 seconds": {"rhythm": "bob", "frequency_hz": 0.5, "directions": ("up_and_down",)},
    "wave your arms at 120 bpm": {"quantity": "motion", "part": "arms", "frequency_hz": 2.0},
    "keep the cart in the middle of the track": {"quantity": "position", "direction": "center", "sign": 0},
    "walk forward and turn left": {"quantities": ("turn", "speed"), "sign": 1},
    "sing me a song": {"quantities": (), "quantity": None},
    "swing the acrobot up so its tip is high": {
        "quantities": ("tip_height",),
        "swing_up": True,
        "magnitude": "high",
    },
    "lift the tip": {"quantities": ("tip_height",), "constraints": ()},
}


@pytest.mark.parametrize(("prompt", "expected"), PARSES.items(), ids=list(PARSES))
def test_prompts_parse_to_what_they_ask(prompt: str, expected: dict[str, object]) -> None:
    intent = parse_intent(prompt)
    got = {k: getattr(intent, k) for k in expected}
    for key, want in expected.items():
        if key == "amounts":
            assert len(got[key]) == len(want) and all(  # type: ignore[arg-type]
                g[0] == w[0] and g[1] == pytest.approx(w[1], rel=1e-4)
                for g, w in zip(got[key], want, strict=True)  # type: ignore[call-overload]
            ), (prompt, got[key])
        else:
            assert got[key] == want, (prompt, key, intent)
    assert intent.describe()


def test_intent_is_frozen_and_parsing_is_deterministic() -> None:
    a, b = parse_intent("run backwards fast"), parse_intent("run backwards fast")
    assert a == b and isinstance(a, Intent)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.magnitude = "low"  # type: ignore[misc]
    assert "backward" in a.describe() and "high" in a.describe()


def test_counter_clockwise_is_not_read_as_clockwise() -> None:
    assert parse_intent("rotate anticlockwise").sign == 1
    assert parse_intent("spin counterclockwise").direction == "ccw"


def test_vocabulary_patterns_compile_and_signs_name_known_quantities() -> None:
    vocab = vocabulary()
    patterns = [e if isinstance(e, str) else e["pattern"] for es in vocab["quantities"].values() for e in es]
    for table in ("parts", "directions", "magnitudes", "rhythms", "constraints"):
        patterns += [p for ps in vocab[table].values() for p in ps]
    patterns += [*vocab["not_directions"], *vocab["swing_up"]]
    for p in patterns:
        re.compile(p)
    assert set(vocab["signs"]) <= set(vocab["quantities"])
    assert set(vocab["magnitudes"]) <= set(LEVELS)
    for key in ("speed", "lateral", "turn", "spin_joint", "flip", "height_up", "height_down", "jump_gain"):
        assert set(vocab["goals"][key]) == set(LEVELS), key
    for key, signs in vocab["signs"].items():
        assert set(signs) <= set(vocab["directions"]), key


# --- checks on scenes ----------------------------------------------------------------------------------


@cache
def _profile(scene: str) -> RobotProfile:
    return build_profile(robot_card(scene))


def _check(scene: str, prompt: str) -> tuple[str, SuccessCheck]:
    code = success_check(parse_intent(prompt), _profile(scene))
    assert code is not None, (scene, prompt)
    assert check_success(code, scene) == [], code
    return code, compile_success(code, scene)


def _expr(code: str, name: str) -> str:
    """The expression of measure `name` in a generated check."""
    m = re.search(rf'^\s+"{name}": (.*?),(?:  #.*)?$', code, re.MULTILINE)
    assert m, (name, code)
    return m.group(1)


def test_cartpole_cart_on_the_right_while_balancing() -> None:
    code, check = _check("CartpoleBalance", PROMPT_CART)
    # The slider's axis is world +x, which is screen-right in TabRL's videos: right = positive.
    assert _expr(code, "cart_x") == "s.joint_angle('slider')"
    assert check.goals["cart_x"].lo >= 0.2 and math.isinf(check.goals["cart_x"].hi)
    assert _expr(code, "upright") == "s.body_upright('pole_1') > 0.9"
    assert check.goals["upright"].lo >= 0.9
    assert check.settle_s > 0  # the cart needs time to get to its side

    _, left = _check("CartpoleBalance", "balance the pole with the cart on the left side of the track")
    assert left.goals["cart_x"].hi <= -0.2
    _, middle = _check("CartpoleBalance", "keep the cart in the middle of the track")
    assert middle.goals["cart_x"].met(0.0) and not middle.goals["cart_x"].met(0.5)


PROMPT_CART = "balance the pole while keeping the cart on the right side of the track"


def test_pendulum_swing_up_is_the_pole_upright_after_settling() -> None:
    code, check = _check("PendulumSwingup", "swing up and hold the pendulum upright at the top")
    # The pole's mass sits on its body's +z: body_upright is 1 with the pendulum at the top.
    assert _expr(code, "upright") == "s.body_upright('pole') > 0.9"
    assert check.settle_s >= 2.0 and check.goals["upright"].lo >= 0.5


def test_acrobot_swing_up_needs_both_links_up() -> None:
    code, check = _check("AcrobotSwingup", "swing up and balance")
    assert "upper_arm" in _expr(code, "upright") and "lower_arm" in _expr(code, "upright")
    assert check.settle_s >= 2.0


def test_a_high_tip_is_the_end_of_the_chain_above_its_pivot() -> None:
    code, check = _check("AcrobotSwingup", "swing the acrobot up so its tip is high")
    # The acrobot hangs from z = 2 m on two 1 m links; its "tip" site ends the lower arm.
    assert _expr(code, "tip_height") == "(s.site_pos('tip')[2] - 2) / 2"
    assert "upright" not in check.goals  # the height is the goal, not every link vertical
    assert check.goals["tip_height"].met(0.6) and not check.goals["tip_height"].met(0.0)
    assert check.settle_s >= 2.0
    # A chain with no site measures its last link's farthest geom; a floating robot has no such tip.
    pend, _ = _check("PendulumSwingup", "lift the tip high")
    assert "s.geom_pos('mass')" in _expr(pend, "tip_height")
    assert success_check(parse_intent("lift the tip high"), _profile("Go1JoystickFlatTerrain")) is None


def test_cheetah_backwards_is_negative_forward_speed_and_fast_raises_the_bar() -> None:
    code, fastest = _check("CheetahRun", "run backwards as fast as possible")
    assert _expr(code, "forward_speed") == "s.body_linvel(s.base)[0]"  # world x = the rootx slide
    assert fastest.goals["forward_speed"].hi <= -1.0 and math.isinf(fastest.goals["forward_speed"].lo)
    _, plain = _check("CheetahRun", "run backwards")
    assert fastest.goals["forward_speed"].hi < plain.goals["forward_speed"].hi <= -1.0
    _, forward = _check("CheetahRun", "run forward")
    assert forward.goals["forward_speed"].lo >= 1.0
    assert "not_fallen" in forward.goals  # running on its back is not running


def test_hopper_hops_in_the_air_and_forward_when_asked() -> None:
    code, check = _check("HopperHop", "hop")
    assert "feet_contact" in _expr(code, "airborne") and check.goals["airborne"].lo > 0
    assert "not_fallen" in check.goals and "forward_speed" not in check.goals
    _, forward = _check("HopperHop", "hop forward")
    assert forward.goals["forward_speed"].lo > 0


def test_walker_walks_at_the_asked_speed() -> None:
    _, check = _check("WalkerWalk", "walk forward at 0.5 m/s")
    goal = check.goals["forward_speed"]
    assert goal.met(0.5) and not goal.met(0.2) and not goal.met(0.8)
    assert "not_fallen" in check.goals


def test_a_walker_on_its_knees_has_fallen_unless_a_height_is_asked() -> None:
    code, _ = _check("WalkerWalk", "walk forward")
    guard = _expr(code, "not_fallen")
    floor = float(re.search(r"s\.body_height\(s\.base\) > ([0-9.]+)", guard).group(1))
    assert 0.85 <= floor <= 1.0  # of 1.3 m standing: a torso over the legs, not kneeling
    crouch, _ = _check("WalkerWalk", "walk forward while crouching low")
    assert "body_height" not in _expr(crouch, "not_fallen")  # the asked height wins
    hop, _ = _check("HopperHop", "hop forward")
    assert "body_height" not in _expr(hop, "not_fallen")  # one leg folds deep while it hops
    cheetah, _ = _check("CheetahRun", "run forward fast")
    assert "body_height" not in _expr(cheetah, "not_fallen")  # two feet, fore and hind: no biped
    go1, _ = _check("Go1JoystickFlatTerrain", "walk forward")
    assert float(re.search(r"body_height\(s\.base\) > ([0-9.]+)", _expr(go1, "not_fallen")).group(1)) < 0.15


def test_reacher_reaches_its_target_and_has_no_posture() -> None:
    code, check = _check("ReacherEasy", "reach the target")
    assert "'finger'" in _expr(code, "on_target") and "'target'" in _expr(code, "on_target")
    assert check.settle_s > 0
    # Its links turn about the vertical: "upright" means nothing there.
    assert success_check(parse_intent("balance upright"), _profile("ReacherEasy")) is None


def test_spin_directions_follow_each_scenes_axes() -> None:
    # Finger's spinner turns about world -y, towards the viewer: positive velocity is counter-clockwise
    # on screen (dm_control's Spin task, velocity <= -15, spins it clockwise).
    code, cw = _check("FingerSpin", "spin clockwise")
    assert _expr(code, "turn_rate") == "s.joint_vel('hinge')" and cw.goals["turn_rate"].hi < 0
    _, ccw = _check("FingerSpin", "spin counter-clockwise")
    assert ccw.goals["turn_rate"].lo > 0
    # The pendulum's hinge turns about +y, away from the viewer: the sign flips.
    code, _ = _check("PendulumSwingup", "spin clockwise")
    assert _expr(code, "turn_rate") == "-s.joint_vel('hinge')"


def test_go1_spins_clockwise_about_the_vertical() -> None:
    code, check = _check("Go1JoystickFlatTerrain", "spin clockwise")
    assert _expr(code, "turn_rate") == "s.body_angvel(s.base)[2]"
    assert check.goals["turn_rate"].hi < 0 and "not_fallen" in check.goals


def test_go1_turning_by_an_angle_is_a_mean_rate() -> None:
    _, check = _check("Go1JoystickFlatTerrain", "turn 90 degrees to the left")
    assert check.goals["turn_rate"].met(math.pi / 2 / 10.0)
    assert not check.goals["turn_rate"].met(math.pi / 10.0)


def test_go1_rhythms_scale_with_their_frequency() -> None:
    code, twice = _check("Go1JoystickFlatTerrain", "wiggle left and right twice a second")
    assert "body_angvel(s.base, local=True)" in _expr(code, "motion")
    _, default = _check("Go1JoystickFlatTerrain", "wiggle left and right")
    assert twice.goals["motion"].lo > default.goals["motion"].lo > 0


def test_go1_shakes_its_hip_joints() -> None:
    code, check = _check("Go1JoystickFlatTerrain", "keep shaking your hips aloha dude!")
    motion = _expr(code, "motion")
    assert "FR_hip_joint" in motion and "RL_hip_joint" in motion and "calf" not in motion
    assert check.goals["motion"].lo > 0


def test_go1_moon_walk_is_a_slow_forward_walk() -> None:
    code, check = _check("Go1JoystickFlatTerrain", "walk like you're on the moon")
    assert _expr(code, "forward_speed") == "s.body_linvel(s.base, local=True)[0]"
    goal = check.goals["forward_speed"]
    assert 0 < goal.lo < goal.hi < math.inf


def test_nothing_measurable_gives_no_check() -> None:
    assert success_check(parse_intent("sing me a song"), _profile("Go1JoystickFlatTerrain")) is None
