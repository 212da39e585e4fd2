"""One reward approach, one model, at every stage: `Approach`.

An approach is what an author writes (an LLM's answer, the offline composer, the reflection rules),
what the parser returns (`tabrl.authoring.parsing`: with its schema errors, not checked yet), what
the checks add (valid, errors, terms, the success check's errors) and the training layer (steps and
estimate_s, from the level and the person's budget: `tabrl.training.levels.plan_steps`), what the API returns (`tabrl.server.schemas.GenerateResponse`) and, through the OpenAPI
schema, the web's type (`components["schemas"]["Approach"]`).

The fields an author writes are marked `Written(...)` with the limits an LLM's answer is held to.
From them come, generated rather than written out:

- `written_schema()`: the JSON schema of one written approach (`APPROACH_SCHEMA`), which the parser
  validates every answer against; a value outside it is an error of that approach, kept, not raised;
- `strict_answer_schema()`: the whole answer `{"approaches": [...]}` in the shape OpenAI's strict
  structured outputs accept (every object closed, every property required, optional ones nullable,
  no length, range or conditional keywords); no provider sends a schema today (they get the prompt);
- `answer_format()`: the answer format as the system prompt describes it (`tabrl.authoring.prompts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model
from typing_extensions import TypedDict

#: How an approach becomes a policy: "command" (level 1: a joystick base policy plays a command
#: program, no training), "fine_tune" (level 2: from a base policy), "from_scratch" (level 3).
Level = Literal["command", "fine_tune", "from_scratch"]
LEVELS: tuple[str, ...] = get_args(Level)
TRAINED: tuple[str, ...] = ("fine_tune", "from_scratch")


class CodeError(TypedDict):
    """One problem of a program (a reward, a command program or a success check)."""

    #: Line of the program (None: the program as a whole, or the approach's form).
    line: int | None
    message: str


def code_error(message: str, line: int | None = None) -> CodeError:
    """A CodeError (the parser's schema errors have no line)."""
    return {"line": line, "message": message}


@dataclass(frozen=True)
class Written:
    """Marks a field of `Approach` that its author writes, with the limits an LLM's answer is held to."""

    #: Every written approach has it.
    required: bool = False
    #: The levels that need it (the others may leave it out).
    needed_by: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    ge: int | None = None
    le: int | None = None
    #: Python source, written in the answer as one JSON string.
    code: bool = False
    #: Listed in the system prompt's answer format (False: only a repair answer carries it).
    in_prompt: bool = True

    def limits(self) -> dict[str, int]:
        """The pydantic Field constraints of these limits."""
        names = ("min_length", "max_length", "ge", "le")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


class Approach(BaseModel):
    """One candidate: a reward to train (levels 2 and 3) or a command program to play (level 1)."""

    # Every field is always sent, so the API schema marks them all required (the web's type too).
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    # What its author writes (an LLM's answer is held to the limits of each `Written`).
    name: Annotated[str, Written(required=True, min_length=1, max_length=120)] = Field(
        description="Two to five words."
    )
    description: Annotated[str, Written(required=True, max_length=4_000)] = Field(
        default="", description="One to three sentences: what the reward encourages and why."
    )
    level: Annotated[Level, Written(required=True)] = Field(
        default="from_scratch",
        description="How it becomes a policy: command (a joystick base policy plays a command program, "
        "no training), fine_tune (trains from a base policy) or from_scratch.",
    )
    reward_code: Annotated[str, Written(needed_by=TRAINED, min_length=10, max_length=50_000, code=True)] = (
        Field(default="", description="Reward module source (empty for a command program).")
    )
    commands: Annotated[
        str | None, Written(needed_by=("command",), min_length=10, max_length=20_000, code=True)
    ] = Field(
        default=None, description="Command program source (level command; a fine-tune's command input)."
    )
    success_check: Annotated[str | None, Written(min_length=10, max_length=20_000, code=True)] = Field(
        default=None, description="Success check source: judged on rollouts after training."
    )
    #: In a repair answer, the number of the approach a fix replaces (kept off the API).
    index: Annotated[int | None, Written(in_prompt=False)] = Field(
        default=None,
        exclude=True,
        description="In a repair answer: the number (from 1) of the approach it fixes.",
    )
    # What the checks and the training layer add.
    valid: bool = Field(
        default=False, description="The checks accepted its code and its success check (False until checked)."
    )
    errors: list[CodeError] = Field(
        default_factory=list, description="Why its code was refused: schema or compiler errors."
    )
    terms: list[str] = Field(
        default_factory=list, description="The reward's terms, as the compiler found them."
    )
    why: str = Field(default="", description="Why this level, for this budget and scene.")
    steps: int = Field(
        default=0,
        ge=0,
        le=2_000_000_000,
        description="PPO environment steps it trains for, from its level and the budget (0: a command "
        "program, or not planned yet).",
    )
    base_id: str | None = Field(default=None, description="Base policy it plays or fine-tunes.")
    estimate_s: float | None = Field(
        default=None, description="Seconds it takes on this server (0: instant)."
    )
    check_errors: list[CodeError] = Field(
        default_factory=list, description="The success check's errors (lines of the check)."
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON form: every field but `index`."""
        return self.model_dump(mode="json")

    def with_check(self, code: str | None, scene_id: str) -> Approach:
        """This approach carrying success check `code`, checked on the scene (errors make it invalid)."""
        if not code:
            return self
        from tabrl.rewards.checks import check_success

        errors = [e.to_dict() for e in check_success(code, scene_id)]
        return self.model_copy(
            update={"success_check": code, "check_errors": errors, "valid": self.valid and not errors}
        )


# --- What an author writes, generated from the marked fields -------------------------------------------


def written_fields() -> dict[str, Written]:
    """The fields an author writes, in model order, with their marks."""
    out = {}
    for name, info in Approach.model_fields.items():
        mark = next((m for m in info.metadata if isinstance(m, Written)), None)
        if mark is not None:
            out[name] = mark
    return out


def _value_type(name: str) -> Any:
    """A field's type without its None (an author leaves a field out rather than writing null)."""
    annotation = Approach.model_fields[name].annotation
    if get_origin(annotation) in (Union, UnionType):
        (kind,) = (a for a in get_args(annotation) if a is not type(None))
        return kind
    return annotation


def _written_model(strict: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, mark in written_fields().items():
        kind, description = _value_type(name), Approach.model_fields[name].description
        if strict:  # every property required, the optional ones nullable, no limits
            fields[name] = (kind if mark.required else kind | None, Field(description=description))
        else:
            default = ... if mark.required else None
            fields[name] = (kind, Field(default, description=description, **mark.limits()))
    config = ConfigDict(extra="forbid" if strict else "ignore")
    return create_model("WrittenApproach", __config__=config, **fields)


def _tidy(schema: Any) -> Any:
    """The schema without pydantic's titles and null defaults (noise for a model, and for a validator)."""
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _tidy(v) for k, v in schema.items() if k != "title" and not (k == "default" and v is None)}
    for key in ("properties", "$defs"):  # names, not keywords: keep them all
        if key in schema:
            out[key] = {name: _tidy(sub) for name, sub in schema[key].items()}
    return out


def written_schema() -> dict[str, Any]:
    """JSON schema (draft 2020-12) of one approach as an LLM writes it: its fields, their limits,
    and, per level, the fields that level needs."""
    schema = _tidy(_written_model(strict=False).model_json_schema())
    needs = {level: [n for n, m in written_fields().items() if level in m.needed_by] for level in LEVELS}
    schema["allOf"] = [
        {
            "if": {"properties": {"level": {"const": level}}, "required": ["level"]},
            "then": {"required": fields},
        }
        for level, fields in needs.items()
        if fields
    ]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def strict_answer_schema() -> dict[str, Any]:
    """JSON schema of a whole answer, `{"approaches": [approach, ...]}`, in the shape OpenAI's strict
    structured outputs take: every object closed (`additionalProperties: false`), every property
    required, the optional ones nullable, no length, range or conditional keywords (the parser
    still holds the answer to those, `written_schema`)."""
    item = _written_model(strict=True)
    answer = create_model("Answer", __config__=ConfigDict(extra="forbid"), approaches=(list[item], ...))  # type: ignore[valid-type]
    return _tidy(answer.model_json_schema())


#: One approach as an LLM writes it (see `written_schema`).
APPROACH_SCHEMA: dict[str, Any] = written_schema()


def _type_text(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(f'"{v}"' for v in schema["enum"])
    return str(schema.get("type", "value"))


def answer_format() -> str:
    """The answer format the system prompt gives: the JSON object, then each field an LLM writes
    (its type, when it is needed, what it is), from `written_schema`."""
    props = APPROACH_SCHEMA["properties"]
    marks = {n: m for n, m in written_fields().items() if m.in_prompt}
    lines = [
        'Answer with ONE JSON object and nothing else: {"approaches": [{...}, ...]}, each approach with:'
    ]
    for name, mark in marks.items():
        when = (
            ", required"
            if mark.required
            else ", required for level " + " or ".join(f'"{lv}"' for lv in mark.needed_by)
            if mark.needed_by
            else ""
        )
        lines.append(f'- "{name}" ({_type_text(props[name])}{when}): {props[name]["description"]}')
    code = ", ".join(f'"{n}"' for n, m in marks.items() if m.code)
    lines.append(f"Code fields ({code}) hold the Python module as one JSON string (newlines written as \\n).")
    return "\n".join(lines)


def approach_fields() -> str:
    """The written fields as a repair prompt lists them: those of every approach, then those of
    each level: `{"name", "description", "level", "success_check"}, with "commands" for level ...`."""
    marks = {n: m for n, m in written_fields().items() if m.in_prompt}
    groups: dict[tuple[str, ...], list[str]] = {}
    for level in LEVELS:
        groups.setdefault(tuple(n for n, m in marks.items() if level in m.needed_by), []).append(level)
    per_level = [
        f"{_and(names)} for level{'s' if len(levels) > 1 else ''} {_and(levels)}"
        for names, levels in groups.items()
        if names
    ]
    return (
        "{"
        + ", ".join(f'"{n}"' for n, m in marks.items() if not m.needed_by)
        + "}, with "
        + "; ".join(per_level)
    )


def _and(words: Any) -> str:
    quoted = [f'"{w}"' for w in words]
    return " and ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


__all__ = [
    "APPROACH_SCHEMA",
    "LEVELS",
    "Approach",
    "CodeError",
    "Level",
    "Written",
    "answer_format",
    "approach_fields",
    "code_error",
    "strict_answer_schema",
    "written_fields",
    "written_schema",
]
