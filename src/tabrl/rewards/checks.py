"""Success checks: whether a rollout did what the prompt asked, in the reward language.

A reward says what to encourage; a success check says what must have happened. Each approach
carries one next to its reward, and after training TabRL rolls the policy out on fixed seeds,
averages every measure over each episode and compares the averages with the goals:

    def measure(s):
        return {
            "cart_x": s.joint_angle("slider"),        # metres, averaged over the episode
            "upright": s.body_upright("pole_1") > 0.9,  # a condition: the fraction of the time
        }

    GOALS = {"cart_x": "> 0.3", "upright": ">= 0.9"}
    SETTLE_S = 1.0  # optional: the first second (getting there) is not judged

A goal is "> x", ">= x", "< x", "<= x" or "between a and b". `measure(s)` is checked and traced by
the same sandbox and compiler as a reward (line numbers in errors); it sees the same `s`.

Rollouts end at the policy's own termination (a fall); a rollout's averages are over the steps it
lived, and a check fails when more than `MAX_FALL_FRACTION` of the rollouts ended that way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tabrl.rewards import sandbox
from tabrl.rewards.compiler import CompiledReward, assignment_line, compile_measure
from tabrl.rewards.result import RewardCompileError, RewardError

#: Rollouts a check is judged on (fixed seeds 0..n-1) and their length.
ROLLOUTS = 8
ROLLOUT_SECONDS = 10.0
#: A check fails when more rollouts than this ended early (the policy's termination: a fall).
MAX_FALL_FRACTION = 0.25

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_COMPARE = re.compile(rf"^\s*(>=|<=|>|<)\s*({_NUMBER})\s*$")
_BETWEEN = re.compile(rf"^\s*between\s+({_NUMBER})\s+and\s+({_NUMBER})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Goal:
    """One measure's goal: its episode mean must lie in [lo, hi] (open ends are +-inf)."""

    text: str
    lo: float = -np.inf
    hi: float = np.inf

    @classmethod
    def parse(cls, text: str) -> Goal:
        """ "> 0.3", ">= 0.9", "< -0.2", "<= 1", "between 0.5 and 1.5"; ValueError otherwise."""
        m = _COMPARE.match(text)
        if m:
            op, value = m.group(1), float(m.group(2))
            return cls(text.strip(), lo=value) if op.startswith(">") else cls(text.strip(), hi=value)
        m = _BETWEEN.match(text)
        if m:
            lo, hi = sorted((float(m.group(1)), float(m.group(2))))
            return cls(text.strip(), lo=lo, hi=hi)
        raise ValueError(f'goal {text!r} is not one of "> x", ">= x", "< x", "<= x", "between a and b"')

    def met(self, value: float) -> bool:
        """Whether `value` meets the goal."""
        return bool(self.lo <= value <= self.hi)

    def progress(self, value: float) -> float:
        """1 when met, else in (0, 1): how close `value` is, relative to the goal's own scale."""
        if not np.isfinite(value):
            return 0.0
        if self.met(value):
            return 1.0
        gap = self.lo - value if value < self.lo else value - self.hi
        edges = [abs(v) for v in (self.lo, self.hi) if np.isfinite(v)]
        scale = max(max(edges, default=1.0), 0.1)
        return float(np.exp(-gap / scale))


@dataclass(frozen=True)
class SuccessCheck:
    """A compiled success check bound to one scene."""

    code: str
    measure: CompiledReward
    goals: dict[str, Goal]
    settle_s: float = 0.0

    @property
    def names(self) -> tuple[str, ...]:
        """The measures, in `measure(s)`'s order."""
        return self.measure.terms


@dataclass(frozen=True)
class Verdict:
    """A check judged on rollouts: per-measure means, each goal's outcome, a pass and a score."""

    passed: bool
    #: Mean over the goals of their progress (1 each when met): ranks approaches that all fail.
    score: float
    #: Each measure's mean over the rollouts (of each rollout's episode mean).
    values: dict[str, float]
    goals: dict[str, str]
    met: dict[str, bool]
    fell: float
    rollouts: int
    seconds: float
    #: Fraction of the rollouts that meet every goal on their own.
    pass_rate: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def figure(self) -> str:
        """One line for a card or a table: each goal with its value, then falls."""
        parts = [
            f"{k} {self.values[k]:.2f} ({self.goals[k]}{'' if self.met[k] else ' ✗'})" for k in self.goals
        ]
        if self.fell:
            parts.append(f"fell {self.fell:.0%}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored in a policy's manifest and returned by the API)."""
        return {
            "passed": self.passed,
            "score": round(self.score, 4),
            "figure": self.figure,
            "values": {k: round(v, 4) for k, v in self.values.items()},
            "goals": dict(self.goals),
            "met": dict(self.met),
            "fell": round(self.fell, 4),
            "pass_rate": round(self.pass_rate, 4),
            "rollouts": self.rollouts,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Back from `to_dict()` (a job's or a manifest's stored verdict)."""
        return cls(
            passed=bool(data.get("passed")),
            score=float(data.get("score") or 0.0),
            values={
                k: float(v) if v is not None else float("nan") for k, v in (data.get("values") or {}).items()
            },
            goals=dict(data.get("goals") or {}),
            met={k: bool(v) for k, v in (data.get("met") or {}).items()},
            fell=float(data.get("fell") or 0.0),
            rollouts=int(data.get("rollouts") or 0),
            seconds=float(data.get("seconds") or 0.0),
            pass_rate=float(data.get("pass_rate") or 0.0),
        )


def rank_key(verdict: dict[str, Any] | None) -> tuple[float, float, float]:
    """Sort key (larger first) of a verdict's `to_dict()`: passed, then score, then pass rate; an
    approach never judged comes last."""
    if not verdict:
        return (-1.0, -1.0, -1.0)
    return (
        float(bool(verdict.get("passed"))),
        float(verdict.get("score") or 0.0),
        float(verdict.get("pass_rate") or 0.0),
    )


def _compile_check(
    code: str, scene: Any, time_limit_s: float
) -> tuple[SuccessCheck | None, list[RewardError]]:
    measure, errors = compile_measure(code, scene, time_limit_s=time_limit_s)
    if measure is None:
        return None, errors
    ns, _ = sandbox.load(code, time_limit_s, contract="success")
    assert ns is not None  # it loaded a moment ago
    line = assignment_line(code, sandbox.GOALS_NAME)
    goals, errors = {}, []
    for name, text in dict(ns[sandbox.GOALS_NAME]).items():
        if name not in measure.terms:
            errors.append(RewardError(line, f"GOALS names {name!r} but measure returns no such value "
                                            f"(measures: {list(measure.terms)}); fix the name"))  # fmt: skip
            continue
        try:
            goals[name] = Goal.parse(text)
        except ValueError as exc:
            errors.append(RewardError(line, str(exc)))
    settle = float(ns.get(sandbox.SETTLE_NAME, 0.0))
    if not 0.0 <= settle < ROLLOUT_SECONDS:
        errors.append(RewardError(assignment_line(code, sandbox.SETTLE_NAME),
                                  f"SETTLE_S must be in [0, {ROLLOUT_SECONDS:g}) seconds, got {settle:g}"))  # fmt: skip
    if errors:
        return None, errors
    return SuccessCheck(code=code, measure=measure, goals=goals, settle_s=settle), []


def check_success(
    code: str, scene: Any, time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S
) -> list[RewardError]:
    """The problems of a success check on a scene (empty when valid); never raises for the code."""
    return _compile_check(code, scene, time_limit_s)[1]


def compile_success(
    code: str, scene: Any, time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S
) -> SuccessCheck:
    """Check and compile a success check; raises RewardCompileError (lines and fixes) when invalid."""
    check, errors = _compile_check(code, scene, time_limit_s)
    if check is None:
        raise RewardCompileError(errors, "success check")
    return check


def judge(check: SuccessCheck, measures: dict[str, np.ndarray], alive: np.ndarray, dt: float) -> Verdict:
    """Judge rollouts: `measures[name]` and `alive` are (rollouts, steps) arrays, `alive` False from
    the step a rollout ended early; steps before `check.settle_s` are not judged."""
    alive = np.asarray(alive, bool)
    n, steps = alive.shape
    judged = alive & (np.arange(steps)[None, :] * dt >= check.settle_s - 1e-9)
    count = judged.sum(axis=1)
    fell = ~alive[:, -1]
    per_rollout = {}
    for name, values in measures.items():
        values = np.asarray(values, np.float64)
        total = np.where(judged, values, 0.0).sum(axis=1)
        per_rollout[name] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    values = {
        k: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for k, v in per_rollout.items()
    }
    met = {k: g.met(values[k]) for k, g in check.goals.items()}
    fell_fraction = float(fell.mean()) if n else 0.0
    each = np.ones(n, bool)
    for k, g in check.goals.items():
        each &= np.array([g.met(v) for v in per_rollout[k]], bool)
    each &= ~fell
    progress = [g.progress(values[k]) for k, g in check.goals.items()]
    score = float(np.mean(progress)) if progress else 0.0
    if fell_fraction > MAX_FALL_FRACTION:
        score *= 1.0 - fell_fraction
    return Verdict(
        passed=all(met.values()) and fell_fraction <= MAX_FALL_FRACTION,
        score=score,
        values=values,
        goals={k: g.text for k, g in check.goals.items()},
        met=met,
        fell=fell_fraction,
        rollouts=n,
        seconds=round(steps * dt, 3),
        pass_rate=float(each.mean()) if n else 0.0,
    )


__all__ = [
    "MAX_FALL_FRACTION",
    "ROLLOUTS",
    "ROLLOUT_SECONDS",
    "Goal",
    "SuccessCheck",
    "Verdict",
    "check_success",
    "compile_success",
    "judge",
    "rank_key",
]
