"""Step budgets and time estimates for generated approaches, by level and the person's budget."""

from __future__ import annotations

from typing import Any


def plan_steps(scene_id: str, approaches: list[Any], budget: str, device: str | None = None) -> None:
    """Set each approach's `steps` (`level_steps`) and `estimate_s` (this machine, its backend)."""
    from tabrl.runtime import device_kind
    from tabrl.scenes.bases import get_base
    from tabrl.training.config import backend_for, level_steps
    from tabrl.training.estimates import estimate

    device = device or device_kind()
    for a in approaches:
        if a.level == "command":
            a.steps, a.estimate_s = 0, 0.0
            continue
        if a.level == "fine_tune" and a.base_id:
            physics = get_base(a.base_id).backend
        else:
            physics = backend_for(scene_id, device, a.reward_code or "")
        a.steps = level_steps(scene_id, a.level, budget, device, physics)
        a.estimate_s = round(estimate(scene_id, device, a.steps, physics=physics).total_s, 1)


__all__ = ["plan_steps"]
