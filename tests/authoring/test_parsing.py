"""Robust reading of LLM answers: fences, prose, triple quotes, trailing commas, schema."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabrl.authoring.parsing import ParseError, extract_json, parse_approaches

CODE = 'def compute_reward(s, action):\n    return {"up": s.body_upright(s.base)}\n'
ITEM = {
    "name": "Up",
    "description": "stay up",
    "level": "from_scratch",
    "steps": 1000000,
    "reward_code": CODE,
}


def test_plain_json() -> None:
    [a] = parse_approaches(json.dumps({"approaches": [ITEM]}))
    assert (a.name, a.reward_code, a.level, a.errors) == ("Up", CODE, "from_scratch", [])
    # An answer's own "steps" are ignored: the level and the person's budget set them (`plan_steps`).
    assert a.steps == 0


def test_fenced_json_with_prose_around() -> None:
    text = (
        "Sure! Here are the approaches:\n```json\n"
        + json.dumps({"approaches": [ITEM]})
        + "\n```\nHope it helps."
    )
    [a] = parse_approaches(text)
    assert a.reward_code == CODE and not a.errors


def test_prose_without_fence_and_braces_in_prose() -> None:
    text = "I considered {a few} options. " + json.dumps([ITEM]) + " Let me know {if} you need more."
    [a] = parse_approaches(text)
    assert a.name == "Up"


def test_triple_quoted_code_inside_json_and_trailing_commas() -> None:
    text = (
        '{"approaches": [{"name": "Up", "description": "d", "level": "fine-tune", "steps": "2M",\n'
        '  "reward_code": """\ndef compute_reward(s, action):\n    return {"up": s.body_upright(s.base)}\n""",\n'
        "},]}"
    )
    [a] = parse_approaches(text)
    assert a.reward_code == CODE
    assert a.level == "fine_tune" and not a.errors


def test_raw_newlines_in_strings_and_python_literals() -> None:
    raw = (
        '{"approaches": [{"name": "Up", "description": "d", "level": "from_scratch", "steps": 5000, '
        '"reward_code": "' + CODE.replace('"', '\\"') + '"}]}'
    )
    [a] = parse_approaches(raw)
    assert a.reward_code == CODE
    python_dict = str({"approaches": [dict(ITEM)]})  # single quotes, as a model might print a dict
    [b] = parse_approaches(python_dict)
    assert b.reward_code == CODE


def test_code_fence_inside_reward_code_and_aliases() -> None:
    item = {"title": "Up", "summary": "s", "code": "```python\n" + CODE + "```", "num_steps": 3e6}
    [a] = parse_approaches(json.dumps({"approaches": [item]}))
    assert (a.name, a.reward_code, a.steps, a.level) == ("Up", CODE, 0, "from_scratch")


def test_schema_errors_are_kept_not_raised() -> None:
    bad = dict(ITEM, level="sometimes", steps=-5)
    good = dict(ITEM, name="Fine")
    parsed = parse_approaches(json.dumps({"approaches": [bad, good, "oops"]}))
    assert len(parsed) == 3
    assert any("level" in e["message"] for e in parsed[0].errors)
    assert all(e["line"] is None for e in parsed[0].errors)
    assert parsed[1].errors == []
    assert parsed[2].errors


@pytest.mark.parametrize("text", ["", "I cannot help with that.", "{not json at all", "```\nno\n```"])
def test_unreadable_raises(text: str) -> None:
    with pytest.raises(ParseError):
        parse_approaches(text)


def test_single_object_answer() -> None:
    assert extract_json("Result: " + json.dumps(ITEM))["name"] == "Up"


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and "\x00" not in s),
    body=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=80),
    prose=st.sampled_from(["", "Here you go:\n", "Answer below.\n```json\n"]),
)
def test_round_trip_any_strings(name: str, body: str, prose: str) -> None:
    code = "def compute_reward(s, action):\n    # " + body.replace("\n", " ") + "\n    return {'x': 1.0}\n"
    item = {"name": name, "description": body, "level": "from_scratch", "steps": 10_000, "reward_code": code}
    text = prose + json.dumps({"approaches": [item]}) + ("\n```" if prose.endswith("json\n") else "")
    [a] = parse_approaches(text)
    assert a.reward_code == code
    assert a.description == body
