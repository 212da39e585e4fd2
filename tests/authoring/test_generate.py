"""generate_approaches with LLM providers (local fake servers) and the repair loop."""

from __future__ import annotations

import json

import pytest

from tabrl.authoring import GenerationError, ProviderRefusal, generate_approaches, select_default
from tabrl.authoring.providers import PROVIDERS

from .fake_servers import FakeLLMServer, Reply, last_user_text
from .rewards_fixtures import BROKEN_BALANCE, GOOD_BALANCE, GOOD_DRIFT, GOOD_SPIN, approaches_json

SCENE = "CartpoleBalance"


def compat(srv: FakeLLMServer, **kw):
    return generate_approaches(
        SCENE,
        "keep the pole up",
        provider="openai-compatible",
        base_url=srv.base_url,
        model="local-model",
        **kw,
    )


def test_valid_answer_records_prompt_model_tokens() -> None:
    with FakeLLMServer(
        "openai",
        [Reply(approaches_json(GOOD_BALANCE, GOOD_SPIN, GOOD_DRIFT), input_tokens=900, output_tokens=300)],
        model="local-model",
    ) as srv:
        res = compat(srv)
    assert [a.valid for a in res.approaches] == [True, True, True]
    assert res.approaches[0].terms == ["upright", "centered", "effort"] or set(res.approaches[0].terms) == {
        "upright",
        "centered",
        "effort",
    }
    assert (res.provider, res.model) == ("openai-compatible", "local-model")
    assert res.usage["input_tokens"] == 900 and res.usage["output_tokens"] == 300 and res.usage["calls"] == 1
    assert res.latency_s > 0 and res.repair_rounds_used == 0
    # The prompt is built from the robot card, the reward API reference and worked examples.
    system = res.prompt["system"]
    assert "pole_1" in system and "hinge_1" in system and "compute_reward" in system
    sent = srv.requests[0].body["messages"]
    assert sent[0]["role"] == "system" and sent[0]["content"] == system
    assert "keep the pole up" in sent[1]["content"] and "3 distinct" in sent[1]["content"]
    d = res.to_dict()
    assert set(d) >= {"provider", "model", "latency_s", "approaches", "usage", "prompt"}
    assert set(d["approaches"][0]) >= {
        "name",
        "description",
        "reward_code",
        "valid",
        "errors",
        "level",
        "steps",
    }
    json.dumps(d)


def test_repair_loop_fixes_a_deliberate_error() -> None:
    def repair(body):
        # The second call must quote the compiler's complaint about the unknown body.
        assert "pole_one" in last_user_text("openai", body)
        return (
            "Fixed:\n```json\n"
            + json.dumps(
                {
                    "approaches": [
                        {
                            "index": 1,
                            "name": "Balance",
                            "description": "fixed",
                            "level": "from_scratch",
                            "steps": 5000000,
                            "reward_code": GOOD_BALANCE,
                        }
                    ]
                }
            )
            + "\n```"
        )

    replies = [Reply(approaches_json(BROKEN_BALANCE, GOOD_SPIN, GOOD_DRIFT)), Reply(repair)]
    with FakeLLMServer("openai", replies) as srv:
        res = compat(srv)
    assert [a.valid for a in res.approaches] == [True, True, True]
    assert res.approaches[0].reward_code == GOOD_BALANCE
    assert res.repair_rounds_used == 1 and len(srv.requests) == 2
    assert len(res.prompt["repairs"]) == 1 and "pole_one" in res.prompt["repairs"][0]
    # The conversation carried the first answer back to the model.
    roles = [m["role"] for m in srv.requests[1].body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


def test_still_failing_candidate_is_returned_invalid_with_errors() -> None:
    replies = [
        Reply(approaches_json(BROKEN_BALANCE, GOOD_SPIN)),
        Reply(approaches_json(BROKEN_BALANCE, names=("Balance",))),
    ]
    with FakeLLMServer("openai", replies) as srv:
        res = compat(srv, repair_rounds=2)
    assert [a.valid for a in res.approaches] == [False, True]
    bad = res.approaches[0]
    assert bad.errors and any("pole_one" in e["message"] for e in bad.errors)
    assert bad.errors[0]["line"] is not None
    assert res.repair_rounds_used == 2 and len(srv.requests) == 3


def test_malformed_answer_asks_again_for_json() -> None:
    replies = [
        Reply("Here is my idea: reward the pole for being up. def compute_reward(s, action): ..."),
        Reply("```json\n" + approaches_json(GOOD_BALANCE) + "\n```"),
    ]
    with FakeLLMServer("openai", replies) as srv:
        res = compat(srv, n=1)
    assert [a.valid for a in res.approaches] == [True]
    assert res.repair_rounds_used == 1
    assert "could not be read" in last_user_text("openai", srv.requests[1].body)


def test_never_json_is_a_clear_error() -> None:
    with (
        FakeLLMServer("openai", [Reply("no json, sorry")]) as srv,
        pytest.raises(GenerationError, match="usable JSON"),
    ):
        compat(srv, repair_rounds=1)
    assert len(srv.requests) == 2


def test_schema_violation_is_marked_invalid_not_dropped() -> None:
    answer = json.dumps(
        {
            "approaches": [
                {
                    "name": "Balance",
                    "description": "d",
                    "level": "sometimes",
                    "steps": 5000000,
                    "reward_code": GOOD_BALANCE,
                },
                {
                    "name": "Spin",
                    "description": "d",
                    "level": "from_scratch",
                    "steps": 5000000,
                    "reward_code": GOOD_SPIN,
                },
            ]
        }
    )
    with FakeLLMServer("openai", [Reply(answer)]) as srv:
        res = compat(srv, repair_rounds=0)
    assert [a.valid for a in res.approaches] == [False, True]
    assert "level" in res.approaches[0].errors[0]["message"]


@pytest.mark.parametrize(
    "kind,provider,key",
    [
        ("anthropic", "anthropic", "ANTHROPIC_API_KEY"),
        ("gemini", "gemini", "GEMINI_API_KEY"),
        ("openai", "deepseek", "DEEPSEEK_API_KEY"),
        ("openai", "openai", "OPENAI_API_KEY"),
    ],
)
def test_every_provider_end_to_end(
    kind: str, provider: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(key, "sk-test-abcdef123456")
    with FakeLLMServer(kind, [Reply("Sure!\n" + approaches_json(GOOD_BALANCE, GOOD_SPIN))]) as srv:
        monkeypatch.setenv(PROVIDERS[provider].base_url_names[0], srv.base_url)
        res = generate_approaches(SCENE, "balance", provider=provider, n=2)
    assert [a.valid for a in res.approaches] == [True, True]
    assert res.provider == provider and res.usage["calls"] == 1


def test_refusal_propagates() -> None:
    with FakeLLMServer("openai", [Reply("nope", refusal=True)]) as srv, pytest.raises(ProviderRefusal):
        compat(srv)


def test_runtime_default_provider_is_used() -> None:
    with FakeLLMServer("openai", [Reply(approaches_json(GOOD_SPIN))]) as srv:
        select_default("openai-compatible", "picked-model", base_url=srv.base_url)
        res = generate_approaches(SCENE, "spin the pole", n=1)
    assert res.provider == "openai-compatible"
    assert srv.requests[0].body["model"] == "picked-model"


def test_argument_errors() -> None:
    with pytest.raises(GenerationError, match="empty"):
        generate_approaches(SCENE, "  ")
    with pytest.raises(GenerationError, match="n must be"):
        generate_approaches(SCENE, "walk", n=0)
    with pytest.raises(Exception, match="unknown scene"):
        generate_approaches("NoSuchScene", "walk")
    with pytest.raises(Exception, match="unknown LLM provider"):
        generate_approaches(SCENE, "walk", provider="gpt")
