"""Progress events and cooperative cancellation: one API for the CLI, the server and tests.

A run emits `ProgressEvent`s to a callback: `started` (with the time estimate), `compiling`,
`eval` (after every evaluation: step, reward mean/std, each reward term, episode length,
env-steps/s, elapsed, ETA, checkpoint), then exactly one of `finished`, `cancelled` or `failed`.
Events are plain frozen dataclasses; `to_dict()` / `to_json()` give what the server streams
and what `tabrl train --json` prints, one per line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

EventKind = Literal["started", "compiling", "eval", "finished", "cancelled", "failed"]


@dataclass(frozen=True)
class ProgressEvent:
    """What a training run reports; fields that do not apply to a kind are None."""

    kind: EventKind
    run_id: str
    scene_id: str
    #: Environment steps done (including any resumed-from checkpoint's steps).
    step: int
    total_steps: int
    elapsed_s: float
    #: Estimated seconds to the end (None until it can be estimated).
    eta_s: float | None = None
    #: Mean and std of the evaluation episodes' total reward.
    eval_reward_mean: float | None = None
    eval_reward_std: float | None = None
    #: Mean per-episode sum of each reward term, without the `reward/` prefix.
    reward_terms: dict[str, float] = field(default_factory=dict)
    #: Mean evaluation episode length (steps).
    episode_length: float | None = None
    #: Training throughput over the last interval (environment steps per second).
    env_steps_per_s: float | None = None
    #: Checkpoint written with this event.
    checkpoint: str | None = None
    #: Human-readable note ("compiling the training step (first run: ~40 s)", error text, ...).
    message: str = ""
    #: Extra numbers (e.g. the estimate's basis, policy/value losses).
    extra: dict[str, Any] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)

    @property
    def fraction(self) -> float:
        """Share of the steps done, in [0, 1]."""
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def terminal(self) -> bool:
        """Whether this event ends the run."""
        return self.kind in ("finished", "cancelled", "failed")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN/inf become None)."""
        return _clean(dataclasses.asdict(self))

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps({"event": self.kind, **self.to_dict()}, separators=(",", ":"))


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class CancelToken:
    """Cooperative cancel: set by one thread or process, checked by the run at every evaluation.

    In-process callers use `cancel()`; another process can create the `cancel_file` (the
    server's worker-process case). On cancel the run stops at its next evaluation point, after
    writing that checkpoint, and reports `cancelled` with the policy saved so far.
    """

    def __init__(self, cancel_file: Path | str | None = None) -> None:
        self._event = threading.Event()
        self.cancel_file = Path(cancel_file) if cancel_file is not None else None

    def cancel(self) -> None:
        """Ask the run to stop at its next evaluation."""
        self._event.set()
        if self.cancel_file is not None:
            self.cancel_file.parent.mkdir(parents=True, exist_ok=True)
            self.cancel_file.touch()

    @property
    def cancelled(self) -> bool:
        """Whether a cancel was requested (by `cancel()` or the cancel file)."""
        if not self._event.is_set() and self.cancel_file is not None and self.cancel_file.exists():
            self._event.set()
        return self._event.is_set()


__all__ = ["CancelToken", "EventKind", "ProgressEvent"]
