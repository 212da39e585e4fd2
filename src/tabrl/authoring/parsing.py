"""Read approaches out of whatever an LLM answered.

Models wrap JSON in prose and code fences, put Python triple-quoted strings inside JSON,
leave trailing commas, write raw newlines inside strings, or answer with a Python dict.
`extract_json` tries, in order: the whole text, each fenced block, each balanced
`{...}` / `[...]` span; each candidate first as strict JSON, then after repairs
(triple-quoted strings -> JSON strings, trailing commas removed, control characters
allowed), then as a Python literal (`ast.literal_eval`, which evaluates nothing).
`parse_approaches` then normalises field names and values and validates every
approach against `APPROACH_SCHEMA` (generated from `tabrl.authoring.approach.Approach`); each comes
back as an `Approach`, not checked yet, and one that fails the schema keeps its errors.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import jsonschema

from tabrl.authoring.approach import APPROACH_SCHEMA, LEVELS, Approach, code_error


class ParseError(ValueError):
    """The text holds no JSON we could read."""


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.S)
_TRIPLE = re.compile(r'("""|\'\'\')(.*?)\1', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _balanced_spans(text: str) -> list[str]:
    """Top-level `{...}` and `[...]` spans, honouring JSON / Python string quoting."""
    spans = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in "{[":
            i += 1
            continue
        depth, j, quote = 0, i, ""
        while j < n:
            c = text[j]
            if quote:
                if text.startswith(quote, j):
                    j += len(quote) - 1
                    quote = ""
                elif c == "\\":
                    j += 1
            elif text.startswith('"""', j) or text.startswith("'''", j):
                quote = text[j : j + 3]
                j += 2
            elif c in "\"'":
                quote = c
            elif c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth == 0:
                    spans.append(text[i : j + 1])
                    break
            j += 1
        i = j + 1 if depth == 0 and j < n else i + 1
    return sorted(spans, key=len, reverse=True)


def _triple_to_json(text: str) -> str:
    # A Python triple-quoted string inside JSON becomes a proper JSON string.
    return _TRIPLE.sub(lambda m: json.dumps(m.group(2).strip("\n")), text)


def _loads(candidate: str) -> Any:
    attempts = [candidate]
    fixed = _TRAILING_COMMA.sub(r"\1", _triple_to_json(candidate))
    attempts.append(fixed)
    for attempt in attempts:
        try:
            return json.loads(attempt, strict=False)
        except json.JSONDecodeError:
            continue
    try:
        value = ast.literal_eval(_TRAILING_COMMA.sub(r"\1", candidate))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ParseError("not JSON") from None
    if isinstance(value, dict | list):
        return value
    raise ParseError("not a JSON object")


def extract_json(text: str) -> Any:
    """The first readable JSON object or array in `text` (see the module docstring)."""
    if not text or not text.strip():
        raise ParseError("the answer is empty")
    candidates = [text.strip()]
    candidates += [m.group(2) for m in _FENCE.finditer(text) if m.group(1).lower() in ("", "json", "json5")]
    candidates += _balanced_spans(text)
    for cand in candidates:
        try:
            value = _loads(cand.strip())
        except ParseError:
            continue
        if isinstance(value, dict | list):
            return value
    snippet = " ".join(text.split())[:160]
    raise ParseError(f"no JSON object found in the answer (it starts: {snippet!r})")


_ALIASES = {
    "reward_code": ("reward_code", "code", "reward", "reward_function", "python", "source"),
    "commands": ("commands", "command_program", "program", "command_code"),
    "name": ("name", "title", "approach"),
    "description": ("description", "summary", "explanation", "rationale"),
    "level": ("level", "training_level", "mode", "training"),
}


def _pick(item: dict[str, Any], key: str) -> Any:
    for alias in _ALIASES.get(key, (key,)):
        if alias in item and item[alias] not in (None, ""):
            return item[alias]
    return None


def _code(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    m = _FENCE.search(value)
    code = m.group(2) if m else value
    return code.strip("\n") + "\n"


def _level(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    v = value.strip().lower().replace("-", "_").replace(" ", "_")
    if v in ("fine_tune", "finetune", "fine_tuning", "finetuning", "fine_tuned"):
        return "fine_tune"
    if v in ("from_scratch", "scratch", "full", "full_training", "train_from_scratch"):
        return "from_scratch"
    if v in ("command", "commands", "command_program", "level_1", "play"):
        return "command"
    return value


def _items(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("approaches", "rewards", "candidates", "results"):
            if isinstance(data.get(key), list):
                return data[key]
        if _pick(data, "reward_code") is not None or _pick(data, "commands") is not None:
            return [data]
    raise ParseError('expected {"approaches": [...]} with a list of approaches')


def normalise(item: Any) -> Approach:
    """One raw approach -> Approach (not checked yet), with schema errors listed (never raises)."""
    if not isinstance(item, dict):
        return Approach(
            name="(unreadable)",
            errors=[code_error(f"approach is a {type(item).__name__}, not an object")],
        )
    raw = {
        "name": _pick(item, "name"),
        "description": _pick(item, "description") or "",
        "level": _level(_pick(item, "level") or "from_scratch"),
    }
    for key in ("reward_code", "commands", "success_check"):
        if _pick(item, key) is not None:
            raw[key] = _code(_pick(item, key))
    if isinstance(item.get("index"), int):
        raw["index"] = item["index"]
    if raw["name"] is None:
        raw["name"] = "Approach"
    validator = jsonschema.Draft202012Validator(APPROACH_SCHEMA)
    errors = [
        code_error(f"{'/'.join(str(p) for p in e.absolute_path) or 'approach'}: {e.message}")
        for e in sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    ]
    return Approach(
        name=str(raw["name"])[:120],
        description=str(raw["description"]),
        reward_code=raw["reward_code"] if isinstance(raw.get("reward_code"), str) else "",
        level=raw["level"] if raw["level"] in LEVELS else "from_scratch",
        index=raw.get("index"),
        errors=errors,
        commands=raw["commands"] if isinstance(raw.get("commands"), str) else None,
        success_check=raw["success_check"] if isinstance(raw.get("success_check"), str) else None,
    )


def parse_approaches(text: str) -> list[Approach]:
    """All approaches in a model answer; raises ParseError when there is no usable JSON."""
    return [normalise(item) for item in _items(extract_json(text))]
