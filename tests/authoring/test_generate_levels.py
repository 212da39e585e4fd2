"""generate_approaches with a time budget: command programs (level 1), fine-tunes, runs from scratch."""

from __future__ import annotations

import json

import pytest

from tabrl.authoring import generate_approaches
from tabrl.authoring.choreography import routines
from tabrl.rewards.commands import check_commands
from tabrl.training.levels import plan_steps

from .fake_servers import FakeLLMServer, Reply, last_user_text
from .rewards_fixtures import GOOD_BALANCE

GO1 = "Go1JoystickFlatTerrain"
PROGRAMS = {r.key: r.program for r in routines()}

GOOD_PROGRAM = (
    "def command(t):\n    return schedule(t, [(2.0, (0.6, 0.0, 0.0)), (2.0, (0.0, 0.0, 1.0))], loop=True)\n"
)
# A Python `if` on t: the checker rejects it at line 2 and asks for jnp.where.
IF_PROGRAM = "def command(t):\n    if t < 2.0:\n        return (0.6, 0.0, 0.0)\n    return (0.0, 0.0, 1.0)\n"
FIXED_PROGRAM = (
    "def command(t):\n    return (jnp.where(t < 2.0, 0.6, 0.0), 0.0, jnp.where(t < 2.0, 0.0, 1.0))\n"
)
# Beyond the Go1 range: valid (clipped, a warning only).
FAST_PROGRAM = "def command(t):\n    return (3.0, 0.0, 0.0)\n"


def _command_answer(*programs: str, names=("Loop", "Turn", "Dash")) -> str:
    return json.dumps(
        {
            "approaches": [
                {"name": names[i], "description": f"program {i}", "level": "command", "commands": code}
                for i, code in enumerate(programs)
            ]
        }
    )


# --- offline composer ----------------------------------------------------------------------------


def test_instant_on_go1_plays_command_programs(go1_joystick_base) -> None:
    res = generate_approaches(GO1, "walk in a square", budget="instant")
    assert res.budget == "instant" and res.provider == "offline" and len(res.approaches) == 3
    for a in res.approaches:
        assert a.level == "command" and a.valid and a.errors == [], a
        assert a.commands and "def command(t)" in a.commands and a.reward_code == ""
        assert a.base_id == "go1-joystick" and a.why.strip() and a.steps == 0
        assert check_commands(a.commands, go1_joystick_base.command_range).valid
    # The routine the prompt asks for comes first; the others are distinct routines.
    assert res.approaches[0].commands == PROGRAMS["square"]
    assert len({a.commands for a in res.approaches}) == 3
    assert {m.get("routine") for m in res.prompt["matched"]} >= {"square"}
    # Steps and estimates: nothing to train.
    plan_steps(res.scene, res.approaches, "instant")
    assert [(a.steps, a.estimate_s) for a in res.approaches] == [(0, 0.0)] * 3
    d = res.to_dict()
    json.dumps(d)
    assert d["budget"] == "instant" and d["approaches"][0]["commands"] == PROGRAMS["square"]
    assert d["approaches"][0]["reward_code"] == "" and d["approaches"][0]["base_id"] == "go1-joystick"


def test_minutes_with_a_choreography_plays_it_and_fine_tunes_the_rest(go1_joystick_base) -> None:
    res = generate_approaches(GO1, "walk in a circle", budget="minutes")
    first, *rest = res.approaches
    assert first.level == "command" and first.valid and first.commands == PROGRAMS["circle"]
    assert first.reward_code == "" and first.base_id == "go1-joystick" and first.why
    assert len(rest) == 2
    for a in rest:
        assert a.level == "fine_tune" and a.valid and a.errors == [], a
        # The fine-tunes' command input follows the matching routine (a hint: the base already
        # does part of the job), and the card says so.
        assert a.commands == PROGRAMS["circle"] and "def compute_reward" in a.reward_code
        assert "'Walk in a circle' program" in a.why
        # A joystick base is fine-tuned to the new reward alone: no task bonus.
        assert "task_reward" not in a.reward_code
        assert a.base_id == "go1-joystick" and a.why and a.terms


def test_unlimited_on_cartpole_trains_from_scratch() -> None:
    res = generate_approaches("CartpoleBalance", "spin the pole", budget="unlimited")
    assert len(res.approaches) == 3
    for a in res.approaches:
        assert a.level == "from_scratch" and a.valid and a.commands is None and a.base_id is None
        assert a.reward_code and a.why
    plan_steps(res.scene, res.approaches, "unlimited")
    assert all(a.steps >= 1000 and a.estimate_s > 0 for a in res.approaches)


def test_unknown_budget_is_refused() -> None:
    from tabrl.authoring import GenerationError

    with pytest.raises(GenerationError, match="budget"):
        generate_approaches("CartpoleBalance", "spin", budget="tomorrow")


# --- LLM path: command programs checked by check_commands ----------------------------------------


def _llm(srv: FakeLLMServer, scene: str = GO1, **kw):
    return generate_approaches(
        scene,
        "walk, then turn",
        provider="openai-compatible",
        base_url=srv.base_url,
        model="local-model",
        **kw,
    )


def test_llm_command_programs_are_checked(go1_joystick_base) -> None:
    answer = _command_answer(GOOD_PROGRAM, IF_PROGRAM, FAST_PROGRAM)
    with FakeLLMServer("openai", [Reply(answer)]) as srv:
        res = _llm(srv, budget="instant", repair_rounds=0)
    good, bad, fast = res.approaches
    for a in res.approaches:
        assert a.level == "command" and a.reward_code == "" and a.steps == 0 and a.base_id == "go1-joystick"
        assert a.why
    assert good.valid and good.errors == [] and good.commands == GOOD_PROGRAM
    assert not bad.valid and bad.commands == IF_PROGRAM
    assert bad.errors[0]["line"] == 2 and "jnp.where" in bad.errors[0]["message"]
    assert fast.valid  # clipping is a warning, not an error
    # The model was told how to write command programs, with the base's limits, and which level to use.
    system = res.prompt["system"]
    assert "def command(t)" in system and "schedule(" in system and "forward +-1 m/s" in system
    assert "level 'command'" in res.prompt["user"]


def test_llm_repair_round_quotes_the_command_checker(go1_joystick_base) -> None:
    def repair(body):
        text = last_user_text("openai", body)
        assert "jnp.where" in text and "line 2" in text
        return json.dumps(
            {"approaches": [{"index": 2, "name": "Turn", "description": "fixed", "level": "command",
                             "commands": FIXED_PROGRAM}]}
        )  # fmt: skip

    replies = [Reply(_command_answer(GOOD_PROGRAM, IF_PROGRAM)), Reply(repair)]
    with FakeLLMServer("openai", replies) as srv:
        res = _llm(srv, budget="instant", n=2)
    assert [a.valid for a in res.approaches] == [True, True]
    assert res.approaches[1].commands == FIXED_PROGRAM and res.repair_rounds_used == 1
    assert len(srv.requests) == 2


def test_llm_command_without_program_is_invalid(go1_joystick_base) -> None:
    answer = json.dumps({"approaches": [{"name": "Turn", "description": "d", "level": "command"}]})
    with FakeLLMServer("openai", [Reply(answer)]) as srv:
        res = _llm(srv, budget="instant", n=1, repair_rounds=0)
    (a,) = res.approaches
    assert not a.valid and a.level == "command"
    assert any("commands" in e["message"] for e in a.errors), a.errors


def test_llm_command_level_on_a_scene_without_a_joystick_base() -> None:
    answer = json.dumps(
        {"approaches": [
            {"name": "Turn", "description": "d", "level": "command", "commands": GOOD_PROGRAM},
            {"name": "Balance", "description": "d", "level": "from_scratch", "steps": 5_000_000,
             "reward_code": GOOD_BALANCE},
        ]}
    )  # fmt: skip
    with FakeLLMServer("openai", [Reply(answer)]) as srv:
        res = _llm(srv, scene="CartpoleBalance", budget="unlimited", n=2, repair_rounds=0)
    cmd, balance = res.approaches
    assert not cmd.valid and any("joystick base policy" in e["message"] for e in cmd.errors), cmd.errors
    assert balance.valid and balance.level == "from_scratch"
    # No command-program section for a scene without a joystick base.
    assert "def command(t)" not in res.prompt["system"]
