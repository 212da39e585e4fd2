"""Result and error types of the reward checker (no JAX imports: cheap to import anywhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tabrl.errors import TabRLError


@dataclass(frozen=True)
class RewardError:
    """One problem in a reward program: where (1-based line, or None) and what to do about it."""

    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """{"line": int | None, "message": str}."""
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


@dataclass(frozen=True)
class CheckResult:
    """Outcome of `check_reward`: valid or not, the term names, the errors, how long it took."""

    valid: bool
    terms: list[str] = field(default_factory=list)
    errors: list[RewardError] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON the CLI prints: {"valid", "terms", "errors": [{"line", "message"}]} (+ duration_s)."""
        return {
            "valid": self.valid,
            "terms": list(self.terms),
            "errors": [e.to_dict() for e in self.errors],
            "duration_s": round(self.duration_s, 3),
        }

    def feedback(self) -> str:
        """All errors as numbered lines, the form an LLM repair prompt embeds."""
        return "\n".join(f"{i + 1}. {e}" for i, e in enumerate(self.errors))


class RewardCompileError(TabRLError):
    """A reward program was rejected; `.errors` lists every problem with its line."""

    status_code = 422

    def __init__(self, errors: list[RewardError], what: str = "reward") -> None:
        self.errors = list(errors)
        first = str(self.errors[0]) if self.errors else f"invalid {what}"
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"{what} rejected: {first}{more}")
