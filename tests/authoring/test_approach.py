"""One approach model: the LLM's JSON schema, the prompt's answer format and the API's type come from it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tabrl.authoring import Approach, prompts
from tabrl.authoring.approach import (
    APPROACH_SCHEMA,
    answer_format,
    strict_answer_schema,
    written_fields,
)
from tabrl.authoring.parsing import normalise, parse_approaches

CODE = 'def compute_reward(s, action):\n    return {"up": s.body_upright(s.base)}\n'
PROGRAM = "def command(t):\n    return (0.6, 0.0, 0.0)\n"
WRITTEN = ("name", "description", "level", "reward_code", "commands", "success_check", "index")


def test_written_schema_keeps_the_limits_the_hand_written_one_had() -> None:
    props = APPROACH_SCHEMA["properties"]
    assert tuple(props) == WRITTEN == tuple(written_fields())
    assert APPROACH_SCHEMA["required"] == ["name", "description", "level"]
    limits = {
        name: {
            k: v
            for k, v in p.items()
            if k in ("type", "enum", "minLength", "maxLength", "minimum", "maximum")
        }
        for name, p in props.items()
    }
    assert limits == {
        "name": {"type": "string", "minLength": 1, "maxLength": 120},
        "description": {"type": "string", "maxLength": 4000},
        "level": {"type": "string", "enum": ["command", "fine_tune", "from_scratch"]},
        "reward_code": {"type": "string", "minLength": 10, "maxLength": 50_000},
        "commands": {"type": "string", "minLength": 10, "maxLength": 20_000},
        "success_check": {"type": "string", "minLength": 10, "maxLength": 20_000},
        "index": {"type": "integer"},
    }
    # Each field's description is the model's (one text for the API's docs and the LLM).
    assert all(p["description"] == Approach.model_fields[n].description for n, p in props.items())
    jsonschema.Draft202012Validator.check_schema(APPROACH_SCHEMA)


@pytest.mark.parametrize(
    ("item", "missing"),
    [
        ({"level": "command", "reward_code": CODE}, "commands"),
        ({"level": "fine_tune", "commands": PROGRAM}, "reward_code"),
        ({"level": "from_scratch", "success_check": PROGRAM}, "reward_code"),
    ],
)
def test_each_level_needs_its_own_fields(item: dict[str, Any], missing: str) -> None:
    errors = [
        e.message
        for e in jsonschema.Draft202012Validator(APPROACH_SCHEMA).iter_errors(
            {"name": "x", "description": "", **item}
        )
    ]
    assert errors == [f"'{missing}' is a required property"]


def _objects(schema: Any, defs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object schema inside `schema`, references followed."""
    if isinstance(schema, list):
        return [o for s in schema for o in _objects(s, defs)]
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return _objects(defs[schema["$ref"].split("/")[-1]], defs)
    found = [schema] if schema.get("type") == "object" else []
    for key, sub in schema.items():
        if key == "properties":
            found += [o for s in sub.values() for o in _objects(s, defs)]
        elif key in ("items", "anyOf"):
            found += _objects(sub, defs)
    return found


def test_strict_answer_schema_has_the_shape_openai_strict_mode_takes() -> None:
    schema = strict_answer_schema()
    objects = _objects(schema, schema.get("$defs", {}))
    assert len(objects) == 2  # the answer and one approach
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])
    text = json.dumps(schema)
    for keyword in ("minLength", "maxLength", "minimum", "maximum", '"if"', '"allOf"', '"default"'):
        assert keyword not in text, keyword
    item = objects[1]["properties"]
    assert tuple(item) == WRITTEN
    # What every approach must write stays non-null; the rest is nullable.
    nullable = {n for n, p in item.items() if {"type": "null"} in p.get("anyOf", [])}
    assert nullable == {"reward_code", "commands", "success_check", "index"}
    # A real answer in that shape validates, and it parses to the same approach as a loose answer.
    answer = {
        "approaches": [
            {"name": "Up", "description": "stay up", "level": "from_scratch", "reward_code": CODE,
             "commands": None, "success_check": None, "index": None},
        ]
    }  # fmt: skip
    jsonschema.validate(answer, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"approaches": [{"name": "Up"}]}, schema)
    [strict] = parse_approaches(json.dumps(answer))
    [loose] = parse_approaches(
        json.dumps({"approaches": [{"name": "Up", "description": "stay up", "reward_code": CODE}]})
    )
    assert strict == loose and strict.errors == []


def test_the_prompt_and_repair_prompt_list_the_written_fields() -> None:
    text = answer_format()
    for name in ("name", "description", "level", "reward_code", "commands", "success_check"):
        assert f'- "{name}" (' in text
    # Steps come from the level and the person's budget (`plan_steps`), never from an author.
    assert '"steps"' not in text and "steps" not in prompts._RULES.split("Choosing:")[1]
    assert '"index"' not in text  # only a repair answer carries it, and the repair prompt asks for it
    assert '"command" | "fine_tune" | "from_scratch"' in text
    assert text in prompts._RULES
    assert prompts.APPROACH_FIELDS in prompts.repair_prompt([(1, "x", ["bad"])])
    assert '"commands" for level "command"' in prompts.APPROACH_FIELDS


def test_the_parser_returns_the_model_and_the_api_sends_it_without_index() -> None:
    p = normalise(
        {"name": "Up", "description": "d", "level": "from_scratch", "reward_code": CODE, "index": 2}
    )
    assert isinstance(p, Approach) and p.index == 2 and p.errors == [] and not p.valid
    d = p.to_dict()
    assert "index" not in d and d["steps"] == 0 and d["commands"] is None
    assert set(d) == set(Approach.model_fields) - {"index"}


def test_api_approach_is_the_core_model() -> None:
    from tabrl.server import create_app
    from tabrl.server.schemas import GenerateResponse

    assert GenerateResponse.model_fields["approaches"].annotation == list[Approach]
    schemas = create_app().openapi()["components"]["schemas"]
    assert "ApproachOut" not in schemas and "RewardErrorOut" not in schemas
    api = schemas["Approach"]
    # Every field is always sent (so the web's type has no optional fields), `index` never.
    assert (
        sorted(api["required"]) == sorted(set(Approach.model_fields) - {"index"}) == sorted(api["properties"])
    )
    # The two copies disagreed on `terms`: the core had them, the API's ApproachOut dropped them. The core won.
    assert api["properties"]["terms"]["type"] == "array"
    assert api["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/CodeError"}
