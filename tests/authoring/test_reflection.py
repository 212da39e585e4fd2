"""Reflection: the feedback an LLM gets and the offline rules, on fake verdicts and statistics."""

from __future__ import annotations

import ast

import pytest

from tabrl.authoring import Approach
from tabrl.authoring.prompts import user_prompt
from tabrl.authoring.reflection import Outcome, feedback_text, refine_offline, refine_reward
from tabrl.rewards.checks import Verdict

SCENE = "CartpoleBalance"

STAND_TALL = """\
# Stand tall - composed offline
WEIGHTS = {
    "balance": 1.5,
    "stay_in_place": 0.5,
    "smoothness": 0.05,
}


def compute_reward(s, action):
    vel = s.body_linvel(s.base)
    return {
        "balance": tolerance(s.body_upright("pole_1"), bounds=(0.95, 1.0), margin=0.5, value_at_margin=0.1),
        "stay_in_place": gaussian(jnp.abs(vel[0]), 0.3),
        "smoothness": -jnp.sum((action - s.prev_action) ** 2),
    }
"""

CHECK = """\
def measure(s):
    return {
        "cart_x": s.joint_angle('slider'),  # metres, right positive
        "upright": s.body_upright('pole_1') > 0.9,
    }


GOALS = {"cart_x": "> 0.3", "upright": ">= 0.9"}
SETTLE_S = 2.0
"""


def approach(code: str, name: str = "Stand tall", check: str = CHECK) -> Approach:
    return Approach(
        name=name, description="Balance.", reward_code=code, valid=True, level="from_scratch", steps=4096,
        success_check=check,
    )  # fmt: skip


def verdict(cart_x: float, upright: float, *, fell: float = 0.0) -> Verdict:
    met = {"cart_x": cart_x > 0.3, "upright": upright >= 0.9}
    return Verdict(
        passed=all(met.values()), score=0.4, values={"cart_x": cart_x, "upright": upright},
        goals={"cart_x": "> 0.3", "upright": ">= 0.9"}, met=met, fell=fell, rollouts=8, seconds=10.0,
    )  # fmt: skip


def history(**final: float) -> list[dict]:
    first = {k: v / 2 for k, v in final.items()}
    return [
        {"step": 1024, "eval_reward_mean": sum(first.values()), "reward_terms": first},
        {"step": 2048, "eval_reward_mean": sum(final.values()), "reward_terms": final},
    ]


def weights(code: str) -> dict[str, float]:
    tree = ast.parse(code)
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "WEIGHTS")
    return ast.literal_eval(node.value)


def test_feedback_names_each_figure() -> None:
    o = Outcome(approach(STAND_TALL), verdict(0.02, 0.97),
                history(balance=150.0, stay_in_place=40.0, smoothness=-0.3))  # fmt: skip
    text = feedback_text([o])
    assert "'Stand tall': FAILED" in text
    assert "goal cart_x > 0.3: 0.02, FAILED, too low by 0.28" in text
    assert "goal upright >= 0.9: 0.97, met" in text
    assert "balance 150 (79%, dominated)" in text
    assert "smoothness -0.3 (0%, near zero)" in text
    assert "eval reward: 94.8 -> 190 over 2 evaluations (still rising)" in text
    # The provider writes the next round in a fresh conversation: it sees what it is improving.
    assert STAND_TALL.strip() in text and CHECK.strip() in text
    assert STAND_TALL.strip() not in feedback_text([o], with_code=False)
    # Into the same user prompt a first round uses, asking for improved approaches.
    prompt = user_prompt("keep the cart right", 2, feedback=text)
    assert "improved approaches" in prompt and "cart_x > 0.3: 0.02" in prompt and '"approaches"' in prompt


def test_feedback_says_why_an_approach_was_not_judged() -> None:
    text = feedback_text([Outcome(approach(STAND_TALL), None, (), error="NaN in the policy", round=2)])
    assert "## Results of round 2" in text and "not judged (NaN in the policy)" in text


def test_unmeasured_failed_goal_gets_a_term_from_the_check_and_a_dominant_stray_term_is_lowered() -> None:
    # stay_in_place dominates and serves no goal; cart_x failed and no term reads the slider.
    o = Outcome(approach(STAND_TALL), verdict(0.02, 0.97),
                history(balance=40.0, stay_in_place=150.0, smoothness=-0.3))  # fmt: skip
    r = refine_reward(o)
    assert r is not None
    assert r.changes == ["+cart_x term", "stay_in_place x0.5"]
    w = weights(r.reward_code)
    assert w == {"balance": 1.5, "stay_in_place": 0.25, "smoothness": 0.05, "goal_cart_x": 1.5}
    # The new term rewards the check's own measure past the goal, with a margin from where it was.
    assert (
        "\"goal_cart_x\": tolerance(s.joint_angle('slider'), bounds=(0.33, jnp.inf), margin=0.31"
        in r.reward_code
    )
    # balance serves the (met) upright goal: kept, however large.
    assert "balance x" not in " ".join(r.changes)


def test_weak_linked_term_is_raised_and_its_band_moves_past_the_goal() -> None:
    code = STAND_TALL.replace(
        '"smoothness": -jnp.sum',
        '"cart": tolerance(s.joint_angle("slider"), bounds=(0.0, 0.1), margin=0.5),\n        "smoothness": -jnp.sum',
    ).replace('"smoothness": 0.05,\n}', '"smoothness": 0.05,\n    "cart": 0.5,\n}')
    o = Outcome(approach(code), verdict(0.05, 0.97),
                history(balance=150.0, stay_in_place=40.0, cart=5.0, smoothness=-0.3))  # fmt: skip
    r = refine_reward(o)
    assert r is not None
    assert r.changes == ["cart x2", "cart band up 0.275"]
    assert weights(r.reward_code)["cart"] == 1.0
    assert 'tolerance(s.joint_angle("slider"), bounds=(0.275, 0.375), margin=0.5)' in r.reward_code


def test_near_zero_term_whose_band_is_already_past_the_goal_gets_a_wider_margin() -> None:
    # upright failed (0.5 of the time); balance's band (0.95, 1) is already past 0.9: widen it.
    o = Outcome(approach(STAND_TALL), verdict(0.5, 0.5),
                history(balance=0.5, stay_in_place=40.0, smoothness=-0.3))  # fmt: skip
    r = refine_reward(o)
    assert r is not None
    assert "balance x2" in r.changes and "balance margin x2" in r.changes
    assert "bounds=(0.95, 1.0), margin=1, value_at_margin=0.1" in r.reward_code
    assert weights(r.reward_code)["balance"] == 3.0


def test_nothing_to_refine() -> None:
    passed = Outcome(approach(STAND_TALL), verdict(0.5, 0.95), history(balance=1.0))
    assert refine_reward(passed) is None
    assert refine_reward(Outcome(approach(STAND_TALL), None)) is None
    assert refine_reward(Outcome(approach("not python ("), verdict(0.0, 0.0))) is None


def test_weights_are_added_when_the_reward_had_none() -> None:
    code = STAND_TALL.split("\n\n\n", 1)[1]  # no WEIGHTS block: every term weighs 1
    r = refine_reward(Outcome(approach(code), verdict(0.0, 0.97), history(balance=10.0, stay_in_place=1.0)))
    assert r is not None and weights(r.reward_code) == {
        "balance": 1.0, "stay_in_place": 1.0, "smoothness": 1.0, "goal_cart_x": 1.0,
    }  # fmt: skip
    compile(r.reward_code, "reward", "exec")


@pytest.mark.timeout(300)
def test_refined_variants_compile_and_say_what_changed() -> None:
    outcomes = [
        Outcome(approach(STAND_TALL), verdict(0.02, 0.97),
                history(balance=40.0, stay_in_place=150.0, smoothness=-0.3)),
        Outcome(approach(STAND_TALL, "Passed already"), verdict(0.5, 0.97), history(balance=1.0)),
    ]  # fmt: skip
    out = refine_offline(outcomes, SCENE)
    assert [a.name for a in out] == ["Stand tall (+cart_x term, stay_in_place x0.5)"]
    assert out[0].valid, out[0].errors
    assert "goal_cart_x" in out[0].terms and out[0].success_check == CHECK
    assert "Round 2: +cart_x term; stay_in_place x0.5." in out[0].description


@pytest.mark.timeout(300)
def test_a_provider_gets_the_feedback_and_answers_through_the_same_parser() -> None:
    from tabrl.authoring.reflection import reflect

    from .fake_servers import FakeLLMServer, Reply
    from .rewards_fixtures import GOOD_BALANCE, GOOD_SPIN, approaches_json

    o = Outcome(approach(STAND_TALL), verdict(0.02, 0.97),
                history(balance=150.0, stay_in_place=40.0, smoothness=-0.3))  # fmt: skip
    with FakeLLMServer("openai", [Reply(approaches_json(GOOD_BALANCE, GOOD_SPIN))], model="m") as srv:
        res = reflect(SCENE, "keep the cart right", [o], provider="openai-compatible",
                      base_url=srv.base_url, model="m", n=2)  # fmt: skip
    sent = srv.requests[0].body["messages"][-1]["content"]
    assert "2 improved approaches" in sent and "## Results of round 1" in sent
    assert "goal cart_x > 0.3: 0.02, FAILED, too low by 0.28" in sent
    assert [a.valid for a in res.approaches] == [True, True] and res.prompt["user"] == sent


def test_a_stored_verdict_reads_back() -> None:
    v = verdict(0.02, 0.97, fell=0.125)
    back = Verdict.from_dict(v.to_dict())
    assert back == v and back.figure == v.figure


def test_a_composed_one_sided_band_moves_past_the_goal() -> None:
    # The composer writes open bands (`jnp.inf`) and gates goals by a guard (`safe * tolerance(...)`):
    # the rules still read the band and move it past the goal the policy missed.
    from tabrl.authoring.composer import compose
    from tabrl.authoring.profile import build_profile
    from tabrl.scenes import robot_card

    prompt = "balance the pole while keeping the cart on the right side of the track"
    gated = compose(prompt, build_profile(robot_card(SCENE)), 1, level="from_scratch")[0]
    assert "bounds=(0.486, 1.2024)" in gated.reward_code
    short = gated.reward_code.replace("bounds=(0.486, 1.2024)", "bounds=(0.2, jnp.inf)")  # short of 0.3
    o = Outcome(approach(short, name=gated.name), verdict(0.1, 0.95), history(upright=300.0, cart_x=20.0))
    refined = refine_reward(o)
    assert refined is not None and any(c.startswith("cart_x band up") for c in refined.changes), refined
    new_lo = float(refined.reward_code.split("s.joint_angle('slider'), bounds=(")[1].split(",")[0])
    assert new_lo > 0.3 and "jnp.inf" in refined.reward_code
