"""Success checks written by an LLM with each approach: parsed, checked on the scene, repaired."""

from __future__ import annotations

import json

from tabrl.authoring import generate_approaches

from .fake_servers import FakeLLMServer, Reply, last_user_text
from .rewards_fixtures import GOOD_BALANCE

CHECK = 'def measure(s):\n    return {"up": s.body_upright("pole_1") > 0.9}\n\nGOALS = {"up": ">= 0.9"}\n'
BAD_CHECK = CHECK.replace('"pole_1"', '"pole_9"')


def _answer(*checks: str | None) -> str:
    items = []
    for i, check in enumerate(checks):
        item = {"name": f"A{i}", "description": "d", "level": "from_scratch", "steps": 2_000_000,
                "reward_code": GOOD_BALANCE}  # fmt: skip
        if check is not None:
            item["success_check"] = check
        items.append(item)
    return json.dumps({"approaches": items})


def _llm(srv: FakeLLMServer, **kw):
    return generate_approaches(
        "CartpoleBalance", "balance", provider="openai-compatible", base_url=srv.base_url, model="m",
        budget="unlimited", **kw,
    )  # fmt: skip


def test_checks_are_parsed_and_checked_on_the_scene() -> None:
    with FakeLLMServer("openai", [Reply(_answer(CHECK, BAD_CHECK, None))]) as srv:
        res = _llm(srv, n=3, repair_rounds=0)
    good, bad, none = res.approaches
    assert good.valid and good.success_check == CHECK and good.check_errors == []
    assert not bad.valid and bad.errors == [] and bad.success_check == BAD_CHECK
    assert bad.check_errors[0]["line"] == 2 and "pole_9" in bad.check_errors[0]["message"]
    # Sent without one, it is judged on the check the parsed prompt implies ("balance": the pole up).
    assert none.valid and none.success_check and "s.body_upright('pole_1')" in none.success_check
    assert good.to_dict()["success_check"] == CHECK
    # The model was told what a success check is and how to write one.
    assert "success_check" in res.prompt["system"] and "def measure(s)" in res.prompt["system"]


def test_a_repair_round_quotes_the_check_errors() -> None:
    def repair(body):
        text = last_user_text("openai", body)
        assert "success_check: line 2" in text and "pole_9" in text
        fixed = json.loads(_answer(CHECK))["approaches"][0]
        return json.dumps({"approaches": [{**fixed, "index": 1}]})

    with FakeLLMServer("openai", [Reply(_answer(BAD_CHECK)), Reply(repair)]) as srv:
        res = _llm(srv, n=1)
    (a,) = res.approaches
    assert a.valid and a.success_check == CHECK and res.repair_rounds_used == 1


def test_the_composer_follows_the_direction_and_writes_a_check() -> None:
    """#16: "run backwards" used to reward forward speed on CheetahRun. The composer now reads the
    direction from the prompt, and every approach carries the check the prompt implies."""
    res = generate_approaches("CheetahRun", "run backwards as fast as possible", budget="unlimited")
    assert len(res.approaches) == 3
    for a in res.approaches:
        assert a.valid and a.check_errors == [], a.check_errors
        assert "backward_speed" in a.terms and "forward_speed" not in a.terms, a.terms
        assert a.success_check and '"forward_speed": "< -' in a.success_check
