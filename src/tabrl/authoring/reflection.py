"""Reflection (Eureka-style): the next round of approaches, written from what the last round got.

After a round trains and is judged, each approach has an `Outcome`: its success check's verdict
(each goal's value and whether it was met), its per-term reward statistics over training (the
`reward/<name>` sums of each evaluation, the policy manifest's `metrics`) and its evaluation
reward curve. From those:

- `feedback_text(outcomes)` writes a concise section for an LLM provider -- what each approach
  got, which goals failed and by how much, which reward terms dominated or stayed near zero --
  that `generate_approaches(..., feedback=...)` puts into the prompt; the answer comes back
  through the same schema, parser, compiler and repair rounds as a first round.
- `refine_offline(outcomes, scene_id)` applies rules to the same figures, for the offline
  composer: a failed goal that no reward term measures gets a term built from the check's own
  measure; a failed goal whose term contributed little gets its weight raised; a tolerance band
  the policy missed in one direction moves past the goal; a term that stayed near zero gets a
  wider margin (a gradient from where the policy is); a term that dominated without serving a
  failed goal is lowered. Each variant's name says what changed.
- `reflect(...)` picks the path from the provider (the same default as generation).

Core layer: this module reads results handed to it; it never imports jobs, server or cli.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tabrl.authoring.approach import Approach
from tabrl.authoring.generate import GenerationResult
from tabrl.rewards.checks import MAX_FALL_FRACTION, Goal, Verdict

#: A term whose share of the reward (|per-episode sum| over all terms') is above this dominated.
DOMINANT_SHARE = 0.6
#: A term below this share stayed near zero: it taught the policy almost nothing.
NEAR_ZERO_SHARE = 0.05
#: A failed goal's terms below this share together get their weight raised.
LOW_SHARE = 0.25
#: Factors the rules apply.
RAISE, LOWER, WIDEN = 2.0, 0.5, 2.0
#: Names a check's measure may use to be copied into a reward term as it is.
_FREE_NAMES = {"s", "jnp", "pi", "tolerance", "gaussian", "exponential"}


@dataclass(frozen=True)
class TermStats:
    """One reward term over training: per-episode sums (weighted) at the evaluations."""

    name: str
    #: At the last evaluation.
    final: float
    #: Mean over the evaluations.
    mean: float
    #: |final| over the sum of every term's |final| (0..1).
    share: float

    @property
    def dominant(self) -> bool:
        return self.share > DOMINANT_SHARE

    @property
    def near_zero(self) -> bool:
        return self.share < NEAR_ZERO_SHARE


@dataclass(frozen=True)
class Outcome:
    """What one approach of a round got: the approach, its verdict, its training history."""

    approach: Approach
    #: The success check judged on rollouts; None when never judged (failed, cancelled).
    verdict: Verdict | None
    #: Evaluation records (the manifest's `metrics`): {"step", "eval_reward_mean", "reward_terms"}.
    history: Sequence[Mapping[str, Any]] = ()
    #: Why it has no verdict (a training error), when it has none.
    error: str | None = None
    round: int = 1

    @property
    def terms(self) -> list[TermStats]:
        """Per-term statistics, largest share first (empty without evaluations)."""
        records = [h.get("reward_terms") or {} for h in self.history]
        records = [r for r in records if r]
        if not records:
            return []
        last = {k: float(v) for k, v in records[-1].items()}
        total = sum(abs(v) for v in last.values()) or 1.0
        stats = [
            TermStats(k, v, sum(float(r.get(k, 0.0)) for r in records) / len(records), abs(v) / total)
            for k, v in last.items()
        ]
        return sorted(stats, key=lambda t: -t.share)

    @property
    def curve(self) -> list[tuple[int, float]]:
        """(step, mean evaluation reward) of each evaluation."""
        return [
            (int(h.get("step", 0)), float(h["eval_reward_mean"]))
            for h in self.history
            if h.get("eval_reward_mean") is not None
        ]


# --- Feedback for an LLM ----------------------------------------------------------------------------


def _goal_gap(goal_text: str, value: float) -> tuple[float, float] | None:
    """(signed distance to the goal's nearest edge, that edge) of a missed goal; None when met."""
    goal = Goal.parse(goal_text)
    if not math.isfinite(value) or goal.met(value):
        return None
    return (goal.lo - value, goal.lo) if value < goal.lo else (goal.hi - value, goal.hi)


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def _trend(curve: list[tuple[int, float]]) -> str:
    if len(curve) < 2:
        return ""
    first, last = curve[0][1], curve[-1][1]
    best = max(v for _, v in curve)
    tail = curve[-1][1] - curve[-2][1]
    rising = "still rising" if tail > 0.02 * max(abs(best), 1.0) else "flat at the end"
    return f"{_fmt(first)} -> {_fmt(last)} over {len(curve)} evaluations ({rising})"


def feedback_text(outcomes: Sequence[Outcome], *, with_code: bool = True) -> str:
    """A concise section for a provider's prompt: each approach's figures, failed goals by how
    much, dominant and near-zero reward terms, its evaluation reward curve, and (`with_code`) its
    reward and check, since the provider writes the next round in a fresh conversation."""
    rnd = max((o.round for o in outcomes), default=1)
    lines = [
        f"## Results of round {rnd}",
        "Each approach was trained, then its success_check was judged on fixed-seed rollouts "
        "(values are episode means). Reward terms: per-episode sum (weighted) at the last evaluation "
        "and its share of the total.",
    ]
    for i, o in enumerate(outcomes, 1):
        a, v = o.approach, o.verdict
        if v is None:
            lines.append(f"\n### {i}. {a.name!r}: not judged ({o.error or 'no verdict'})")
            continue
        state = "PASSED" if v.passed else "FAILED"
        lines.append(f"\n### {i}. {a.name!r}: {state} (score {v.score:.2f}, pass rate {v.pass_rate:.0%})")
        for k, goal in v.goals.items():
            value = v.values.get(k, float("nan"))
            gap = _goal_gap(goal, value)
            if gap is None:
                lines.append(f"- goal {k} {goal}: {_fmt(value)}, met")
            else:
                side = "too low" if gap[0] > 0 else "too high"
                lines.append(f"- goal {k} {goal}: {_fmt(value)}, FAILED, {side} by {_fmt(abs(gap[0]))}")
        if v.fell:
            worst = " (more than the check allows)" if v.fell > MAX_FALL_FRACTION else ""
            lines.append(f"- fell (ended early) in {v.fell:.0%} of the rollouts{worst}")
        terms = o.terms
        if terms:
            parts = []
            for t in terms:
                note = ", dominated" if t.dominant else ", near zero" if t.near_zero else ""
                parts.append(f"{t.name} {_fmt(t.final)} ({t.share:.0%}{note})")
            lines.append("- reward terms: " + "; ".join(parts))
        trend = _trend(o.curve)
        if trend:
            lines.append(f"- eval reward: {trend}")
        if with_code and a.reward_code:
            lines.append(f"reward_code:\n```python\n{a.reward_code.strip()}\n```")
        if with_code and a.success_check:
            lines.append(f"success_check:\n```python\n{a.success_check.strip()}\n```")
    return "\n".join(lines)


# --- Offline rules ---------------------------------------------------------------------------------


@dataclass
class _Reward:
    """The parts of a reward module the rules edit, with their byte positions."""

    code: bytes
    tree: ast.Module
    terms: dict[str, ast.expr]
    assigns: dict[str, ast.expr]
    weights: dict[str, float]
    weights_node: ast.stmt | None
    returned: ast.Dict | None
    function: ast.FunctionDef

    @classmethod
    def parse(cls, code: str) -> _Reward | None:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            return None
        fn = next(
            (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compute_reward"), None
        )
        if fn is None:
            return None
        returned, terms = _returned_dict(fn)
        weights, weights_node = {}, None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "WEIGHTS" for t in node.targets
            ):
                try:
                    weights = {str(k): float(v) for k, v in ast.literal_eval(node.value).items()}
                except (ValueError, TypeError, SyntaxError):
                    return None  # computed weights: not something the rules can rewrite
                weights_node = node
        return cls(code.encode(), tree, terms, _assigns(fn), weights, weights_node, returned, fn)


def _returned_dict(fn: ast.FunctionDef) -> tuple[ast.Dict | None, dict[str, ast.expr]]:
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            d = node.value
            terms = {
                k.value: v
                for k, v in zip(d.keys, d.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }
            return d, terms
    return None, {}


def _assigns(fn: ast.FunctionDef) -> dict[str, ast.expr]:
    out = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = node.value
    return out


def _state_calls(node: ast.AST, assigns: Mapping[str, ast.expr], depth: int = 2) -> set[str]:
    """What state an expression reads: its `s.<accessor>(...)` calls (local names resolved)."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and isinstance(sub.func.value, ast.Name)
            and sub.func.value.id == "s"
        ):
            found.add(ast.unparse(sub.func) + "(" + ", ".join(ast.unparse(a) for a in sub.args) + ")")
        elif isinstance(sub, ast.Name) and sub.id in assigns and depth > 0:
            found |= _state_calls(assigns[sub.id], assigns, depth - 1)
    return found


def _measures(check_code: str) -> tuple[dict[str, ast.expr], dict[str, ast.expr]]:
    """A success check's measures (name -> expression) and measure(s)'s local assignments."""
    try:
        tree = ast.parse(check_code)
    except SyntaxError:
        return {}, {}
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "measure"), None)
    if fn is None:
        return {}, {}
    return _returned_dict(fn)[1], _assigns(fn)


def _tolerance(node: ast.expr) -> ast.Call | None:
    """The `tolerance(...)` call of a term, when it is one (the band the rules can move)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "tolerance":
            return sub
    return None


def _kw(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def _const(node: ast.expr) -> float | None:
    # `jnp.inf` / `-jnp.inf`: the open side of a one-sided band (the composer writes them).
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1.0, node.operand
    if isinstance(node, ast.Attribute) and node.attr == "inf" and isinstance(node.value, ast.Name):
        return sign * math.inf
    if sign < 0:
        value = _const(node)
        return None if value is None else -value
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None
    return float(value) if isinstance(value, int | float) else None


def _num(x: float) -> str:
    if math.isinf(x):
        return "jnp.inf" if x > 0 else "-jnp.inf"
    return f"{x:.4g}"


class _Edits:
    """Text edits by byte position (ast columns are UTF-8 byte offsets), applied last first."""

    def __init__(self, code: bytes) -> None:
        self.code = code
        self.starts = [0]
        for line in code.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.edits: list[tuple[int, int, str]] = []

    def pos(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col

    def replace(self, node: ast.AST, text: str) -> None:
        start = self.pos(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.pos(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        self.edits.append((start, end, text))

    def insert(self, at: int, text: str) -> None:
        self.edits.append((at, at, text))

    def apply(self) -> str:
        out = self.code
        for start, end, text in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            out = out[:start] + text.encode() + out[end:]
        return out.decode()


def _new_term(name: str, expr: ast.expr, goal: Goal, value: float) -> str | None:
    """A reward term that pays for meeting a goal, from the check's own measure: a tolerance band
    just past the goal, its margin the distance the policy is from it (a gradient from there)."""
    x, lo, hi = expr, goal.lo, goal.hi
    if isinstance(expr, ast.Compare) and len(expr.ops) == 1:
        # A condition (counted as a fraction of the time): reward the quantity it compares.
        c = _const(expr.comparators[0])
        if c is None:
            return None
        x = expr.left
        if isinstance(expr.ops[0], ast.Gt | ast.GtE):
            lo, hi = c, math.inf
        elif isinstance(expr.ops[0], ast.Lt | ast.LtE):
            lo, hi = -math.inf, c
        else:
            return None
        value = float("nan")  # a fraction of the time says nothing about the quantity's distance
    free = {n.id for n in ast.walk(x) if isinstance(n, ast.Name)}
    if not free <= _FREE_NAMES:
        return None  # it reads measure(s)'s locals: not copyable as it is
    edges = [abs(e) for e in (lo, hi) if math.isfinite(e)]
    scale = max(max(edges, default=1.0), 0.1)
    # A one-sided goal: aim a little past its edge so the policy does not hover on it.
    pad = 0.1 * scale if math.isinf(lo) != math.isinf(hi) else 0.0
    lo = lo + pad if math.isfinite(lo) and math.isinf(hi) else lo
    hi = hi - pad if math.isfinite(hi) and math.isinf(lo) else hi
    gap = 0.0
    if math.isfinite(value):
        gap = lo - value if value < lo else value - hi if value > hi else 0.0
    margin = max(scale, gap)
    return (
        f"tolerance({ast.unparse(x)}, bounds=({_num(lo)}, {_num(hi)}), "
        f"margin={_num(margin)}, value_at_margin=0.1)"
    )


@dataclass
class Refinement:
    """The rules' changes to one approach: the new code and what changed (for its name)."""

    reward_code: str
    changes: list[str] = field(default_factory=list)


def refine_reward(outcome: Outcome) -> Refinement | None:
    """Apply the rules to one judged approach; None when they have nothing to change (it passed,
    was never judged, has no reward code, or its code is not in a form the rules can edit)."""
    a, v = outcome.approach, outcome.verdict
    if v is None or v.passed or not a.reward_code or not a.success_check:
        return None
    reward = _Reward.parse(a.reward_code)
    if reward is None:
        return None
    measures, measure_assigns = _measures(a.success_check)
    stats = {t.name: t for t in outcome.terms}
    weights = {t: reward.weights.get(t, 1.0) for t in reward.terms}
    edits, changes, added = _Edits(reward.code), [], {}
    # Terms that serve some goal of the check (met or not): a dominant one is not lowered.
    serving = {
        t
        for k in v.goals
        if k in measures
        for t, node in reward.terms.items()
        if _state_calls(measures[k], measure_assigns) & _state_calls(node, reward.assigns)
    }
    for k, goal_text in v.goals.items():
        if v.met.get(k, False) or k not in measures:
            continue
        goal, value = Goal.parse(goal_text), v.values.get(k, float("nan"))
        reads = _state_calls(measures[k], measure_assigns)
        linked = [t for t, node in reward.terms.items() if reads & _state_calls(node, reward.assigns)]
        if not linked:
            term = _new_term(k, measures[k], goal, value)
            if term is not None and reward.returned is not None:
                name = f"goal_{k}"
                added[name] = term
                # As strong as the strongest term: a goal nothing paid for must now matter.
                weights[name] = max(weights.values(), default=1.0)
                changes.append(f"+{k} term")
            continue
        if sum(stats[t].share for t in linked if t in stats) < LOW_SHARE:
            for t in linked:
                weights[t] *= RAISE
            changes.append(f"{'+'.join(linked)} x{RAISE:g}")
        gap = _goal_gap(goal_text, value)
        x = measures[k].left if isinstance(measures[k], ast.Compare) else measures[k]
        for t in linked:
            call = _tolerance(reward.terms[t])
            if call is None or not call.args:
                continue
            bounds, margin = _kw(call, "bounds"), _kw(call, "margin")
            same_quantity = _state_calls(call.args[0], reward.assigns) == _state_calls(x, measure_assigns)
            if (
                gap is not None
                and same_quantity
                and bounds is not None
                and isinstance(bounds.value, ast.Tuple)
                and len(bounds.value.elts) == 2
            ):
                b = [_const(e) for e in bounds.value.elts]
                if None not in b:
                    lo, hi = float(b[0]), float(b[1])  # type: ignore[arg-type]
                    delta, edge = gap
                    # Move the band past the goal's edge, by the distance the policy missed it.
                    if (delta > 0 and lo < edge + delta * 0.1) or (delta < 0 and hi > edge + delta * 0.1):
                        shift = (edge - value) * 1.1
                        lo, hi = lo + shift, hi + shift
                        edits.replace(bounds.value, f"({_num(lo)}, {_num(hi)})")
                        changes.append(f"{t} band {'up' if delta > 0 else 'down'} {_fmt(abs(shift))}")
                        continue
            if margin is not None and t in stats and stats[t].near_zero:
                m = _const(margin.value)
                if m is not None and m > 0:
                    edits.replace(margin.value, _num(m * WIDEN))
                    changes.append(f"{t} margin x{WIDEN:g}")
    for t, st in stats.items():
        if st.dominant and t in weights and t not in serving:
            weights[t] *= LOWER
            changes.append(f"{t} x{LOWER:g}")
    if not changes:
        return None
    if added and reward.returned is not None:
        last = reward.returned.values[-1]
        at = edits.pos(last.end_lineno, last.end_col_offset)  # type: ignore[arg-type]
        indent = " " * last.col_offset
        edits.insert(at, "".join(f',\n{indent}"{n}": {code}' for n, code in added.items()))
    body = "".join(f'    "{t}": {_num(w)},\n' for t, w in weights.items())
    block = "WEIGHTS = {\n" + body + "}"
    if reward.weights_node is not None:
        edits.replace(reward.weights_node, block)
    else:
        fn = reward.function
        first = fn.decorator_list[0] if fn.decorator_list else fn
        edits.insert(edits.pos(first.lineno, 0), block + "\n\n\n")
    return Refinement(edits.apply(), changes)


def _base_name(name: str) -> str:
    """An approach's name without the previous round's "(changes)"."""
    return re.sub(r"\s*\(.*\)\s*$", "", name) or name


def refine_offline(outcomes: Sequence[Outcome], scene_id: str, n: int | None = None) -> list[Approach]:
    """The next round by rules: one variant of each failed approach the rules can improve (best
    ranked first, at most `n`), each checked by the reward compiler like a composed one."""
    from tabrl.authoring.generate import _card_key, check_code
    from tabrl.scenes import robot_card

    key = _card_key(robot_card(scene_id))
    out: list[Approach] = []
    for o in outcomes:
        if n is not None and len(out) >= n:
            break
        r = refine_reward(o)
        if r is None:
            continue
        valid, terms, errors = check_code(r.reward_code, scene_id, key, env_check=False)
        a = o.approach
        out.append(
            a.model_copy(
                update={
                    "name": f"{_base_name(a.name)} ({', '.join(r.changes[:3])}{', ...' if len(r.changes) > 3 else ''})",
                    "description": f"{a.description} Round {o.round + 1}: {'; '.join(r.changes)}.",
                    "reward_code": r.reward_code,
                    "valid": valid and not a.check_errors,
                    "errors": errors,
                    "terms": terms or a.terms,
                }
            )
        )
    return out


def reflect(
    scene_id: str,
    prompt: str,
    outcomes: Sequence[Outcome],
    *,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    n: int = 3,
    budget: str = "minutes",
) -> GenerationResult:
    """The next round's approaches for `prompt` from this round's `outcomes` (best first): an LLM
    provider gets `feedback_text` in its prompt; offline, `refine_offline`'s rules. The provider
    defaults like `generate_approaches`'s."""
    from tabrl.authoring.generate import generate_approaches
    from tabrl.authoring.providers import current_default

    text = feedback_text(outcomes)
    if provider is None:
        chosen = current_default()
        provider = chosen["provider"] or "offline"
        model, base_url = model or chosen["model"], base_url or chosen["base_url"]
    if provider != "offline":
        return generate_approaches(
            scene_id, prompt, provider=provider, model=model, base_url=base_url, n=n, budget=budget,
            feedback=text,
        )  # fmt: skip
    approaches = refine_offline(outcomes, scene_id, n)
    return GenerationResult(
        provider="offline",
        model="reflection-rules",
        latency_s=0.0,
        approaches=approaches,
        usage={"input_tokens": 0, "output_tokens": 0, "calls": 0},
        prompt={"user": prompt, "feedback": text},
        scene=scene_id,
        budget=budget,
    )


__all__ = [
    "Outcome",
    "Refinement",
    "TermStats",
    "feedback_text",
    "refine_offline",
    "refine_reward",
    "reflect",
]
