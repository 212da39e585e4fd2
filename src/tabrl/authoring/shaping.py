"""Rewards from a success check's measures: what was asked for, shaped three ways.

The offline composer parses a prompt into measures on the robot's own quantities
(`tabrl.authoring.intent.measures`: the cart's position, the pole's uprightness, the torso's speed
backwards...), and the success check judges a policy on them. This module writes rewards that ask
for exactly those measures, so that a policy trained on any of them is pushed towards passing the
check: each measure's goal becomes `tolerance()` factors (1 inside the goal, falling off outside),
and the approaches differ in how they shape and combine them (`data/intent.yaml`, `shaping`).

Why shaping matters as much as what is asked: a sum of "pole upright" and "cart on the right"
terms is maximised half-way by letting the pole fall and parking the cart; gating the asked-for
terms by the constraint (multiplying them by it) is what made CartpoleBalance "keep the cart on the
right" train to the check (upright 100 %, cart at +0.46 m) where the sum did not (bench/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from tabrl.authoring.intent import Measure, vocabulary
from tabrl.authoring.primitives import Term


class ShapingStyle(BaseModel):
    """One way to shape and combine the measures (an entry of `shaping.styles` in intent.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z_]+$")
    title: str = Field(min_length=1, max_length=60)
    blurb: str = Field(min_length=1, max_length=300)
    gate: bool
    guard_share: float = Field(ge=0.0, lt=1.0)
    sigmoid: str
    value_at_margin: float = Field(ge=0.0, lt=1.0)
    margin_scale: float = Field(gt=0.0)
    effort: float = Field(ge=0.0)


@lru_cache(maxsize=1)
def styles() -> tuple[ShapingStyle, ...]:
    """The shaping styles, in the order approaches are offered."""
    return tuple(ShapingStyle.model_validate(s) for s in vocabulary()["shaping"]["styles"])


#: How far towards the end of a measure's span a one-sided reward band reaches.
_SHORT = 0.6


def _lead() -> float:
    return float(vocabulary()["shaping"]["lead"])


@dataclass(frozen=True)
class Factor:
    """`x` wanted within [lo, hi] (either may be infinite), with `margin` of reward outside."""

    x: str
    lo: float
    hi: float
    margin: float
    #: A fixed fall-off whatever the style ("linear": a cosine's (1 + cos) / 2); None: the style's.
    sigmoid: str | None = None
    value_at_margin: float = 0.0
    #: The least this factor multiplies by: `floor + (1 - floor) * tolerance(...)`. A factor that
    #: refines another (a pole held still as well as up) must not zero the reward it refines.
    floor: float = 0.0

    def code(self, style: ShapingStyle) -> str:
        """The tolerance() call for this factor under `style`."""
        if self.sigmoid is not None:
            margin, sigmoid, value = self.margin, self.sigmoid, self.value_at_margin
        else:
            margin, sigmoid, value = self.margin * style.margin_scale, style.sigmoid, style.value_at_margin
        call = (
            f"tolerance({self.x}, bounds=({_lit(self.lo)}, {_lit(self.hi)}), "
            f'margin={_lit(margin)}, sigmoid="{sigmoid}", value_at_margin={_lit(value)})'
        )
        return f"({_lit(self.floor)} + {_lit(1.0 - self.floor)} * {call})" if self.floor > 0 else call


def _lit(x: float) -> str:
    if x == float("inf"):
        return "jnp.inf"
    if x == float("-inf"):
        return "-jnp.inf"
    return repr(round(float(x), 4))


_CONDITION = re.compile(r"^(?P<x>.+) (?P<op>[<>]) (?P<c>-?[0-9.]+(?:e-?[0-9]+)?)$")
_BOUND = re.compile(r"^(?P<op>[<>]) (?P<c>-?[0-9.]+(?:e-?[0-9]+)?)$")
_BETWEEN = re.compile(r"^between (?P<a>-?[0-9.]+(?:e-?[0-9]+)?) and (?P<b>-?[0-9.]+(?:e-?[0-9]+)?)$")


def _split_args(call: str) -> list[str]:
    """The top-level arguments of `f(a, b)`."""
    inner = call[call.index("(") + 1 : -1]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(inner[start:i].strip())
            start = i + 1
    parts.append(inner[start:].strip())
    return parts


def _margin(m: Measure, x: str, bound: float, op: str) -> float:
    """How far outside the goal the reward still points the way."""
    if m.margin is not None:
        return m.margin
    if "body_upright(" in x:
        return bound + 1.0  # cosines: from hanging down (-1) to the bound
    if op == "<" and bound > 0:
        return max(4.0 * bound, 0.1)  # a limit on a size (a speed, a distance): a few times it
    return max(abs(bound), 0.1)


_ONE_BODY = re.compile(r"^s\.body_upright\((?P<body>'[^']+'|\"[^\"]+\"|s\.base)\)$")


def _from_rest(m: Measure, distance: float, margin: float) -> float:
    """A margin that reaches back to 0 for a goal away from 0 (a speed, a rate): a robot at rest must
    feel the pull. Measured (bench/README.md): "hop forward" with the speed reward flat below
    0.1 m/s trained Hoppers that hopped in place (0.02 m/s)."""
    if m.margin is not None or distance <= 0:
        return margin
    return max(margin, distance)


def _uprightness(x: str) -> list[Factor]:
    """An uprightness (a cosine, at most 1): pulled all the way to vertical along (1 + cos) / 2, and,
    for one body, held still there (its angular speed, as dm_control's cartpole reward does). Measured
    (bench/README.md): a band flat above the check's line (0.9) with a gaussian fall-off trained
    CartpoleBalance poles up a third of the time; (1 + cos) / 2 alone trained CartpoleSwingup poles
    that kept spinning (up 30 %), and held still as well, up 100 %."""
    up = Factor(x, 1.0, float("inf"), 2.0, sigmoid="linear")
    body = _ONE_BODY.match(x)
    # A robot's base is not held still: hopping, bounding and turning rotate it (dm_control's
    # locomotion rewards ask only for its (1 + cos) / 2); a pole on a cart or hinge is.
    if body is None or body["body"] == "s.base":
        return [up]
    spin = f"jnp.linalg.norm(s.body_angvel({body['body']}))"
    return [up, Factor(spin, float("-inf"), 0.0, 5.0, sigmoid="gaussian", value_at_margin=0.1, floor=0.5)]


def _condition(m: Measure, cond: str) -> list[Factor]:
    if cond.startswith("jnp.logical_and("):
        return [f for part in _split_args(cond) for f in _condition(m, part)]
    match = _CONDITION.match(cond)
    if match is None:
        return []
    x, op, c = match["x"], match["op"], float(match["c"])
    if "body_upright(" in x and op == ">":
        return _uprightness(x)
    margin = _margin(m, x, c, op)
    return [Factor(x, c, float("inf"), margin) if op == ">" else Factor(x, float("-inf"), c, margin)]


def factors(m: Measure) -> list[Factor]:
    """What a reward must want for measure `m` to meet its goal (empty when nothing can be aimed at)."""
    goal = m.goal.strip()
    if goal.startswith(">="):  # the fraction of the time a condition holds: want the condition
        return _condition(m, m.expr)
    if between := _BETWEEN.match(goal):
        a, b = float(between["a"]), float(between["b"])
        margin = m.margin if m.margin is not None else max(b - a, abs(a + b) / 2, 0.1)
        return [Factor(m.expr, a, b, margin)]
    if bound := _BOUND.match(goal):
        op, c = bound["op"], float(bound["c"])
        margin = _margin(m, m.expr, c, op)
        lead = _lead() * margin  # aim a little past the check's line
        # ...but not into an end stop: a cart driven to the end of its rail (1.5 of 1.8 m) cannot
        # balance its pole (bench/README.md); the band ends short of the span's limit.
        if op == ">":
            hi = c + _SHORT * (m.span[1] - c) if m.span and m.span[1] > c else float("inf")
            lo = min(c + lead, hi)
            return [Factor(m.expr, lo, hi, _from_rest(m, lo, margin))]
        lo = c - _SHORT * (c - m.span[0]) if m.span and m.span[0] < c else float("-inf")
        hi = max(c - lead, lo)
        return [Factor(m.expr, lo, hi, _from_rest(m, -hi, margin))]
    return []  # "<= fraction": a condition that must rarely hold has no single target


def _term_name(m: Measure, fs: list[Factor]) -> str:
    """The measure's name, except that wanting a negative forward speed reads as backward speed."""
    if "forward" in m.name and all(f.hi < 0 for f in fs):
        return m.name.replace("forward", "backward")
    return m.name


def _code(fs: list[Factor], style: ShapingStyle) -> str:
    return " * ".join(f.code(style) for f in fs)


def shaped_terms(found: list[Measure], style: ShapingStyle) -> list[Term]:
    """Reward terms asking for `found` (`intent.measures`) under `style`; empty when none can be aimed
    at. Weights sum to at most 1 per step (plus the effort penalty)."""
    shaped = [(m, fs) for m in found if (fs := factors(m))]
    goals = [(m, fs) for m, fs in shaped if not m.guard]
    guards = [(m, fs) for m, fs in shaped if m.guard]
    if not goals:
        goals, guards = guards, []
    if not goals:
        return []
    share = style.guard_share if guards else 0.0
    terms: list[Term] = []
    setup: tuple[str, ...] = ()
    gate = ""
    if guards and style.gate:
        setup = (f"safe = {' * '.join(f'({_code(fs, style)})' for _, fs in guards)}",)
        gate = "safe * "
    for m, fs in guards:
        expr = "safe" if style.gate and len(guards) == 1 else _code(fs, style)
        terms.append(Term(m.name, expr, round(share / len(guards), 4), setup, f"{m.name} {m.goal} ({m.why})"))
    for m, fs in goals:
        expr = f"{gate}{_code(fs, style)}"
        terms.append(
            Term(
                _term_name(m, fs),
                expr,
                round((1.0 - share) / len(goals), 4),
                setup,
                f"{m.name} {m.goal} ({m.why})",
            )
        )
    if style.effort > 0:
        terms.append(Term("effort", "-jnp.mean(action ** 2)", style.effort, (), "gentle actions"))
    return terms


__all__ = ["Factor", "ShapingStyle", "factors", "shaped_terms", "styles"]
