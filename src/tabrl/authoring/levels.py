"""The progressive strategy: which level each approach takes, for the time the person gives.

    level 1 "command"      a joystick base policy plays a command program: instant, no training
    level 2 "fine_tune"    a base policy fine-tuned to the new reward: minutes on a CPU
    level 3 "from_scratch" PPO from a random policy: as long as it takes

`plan_levels` picks one per approach from the budget and the scene's base policies, and says why
in words the approach card shows. How many steps each level trains for is the training layer's
(`tabrl.training.config.level_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tabrl.scenes.bases import BasePolicy

Budget = Literal["instant", "minutes", "unlimited"]
BUDGETS: tuple[str, ...] = ("instant", "minutes", "unlimited")
BUDGET_LABELS = {"instant": "instant", "minutes": "a few minutes", "unlimited": "as long as it takes"}
#: A routine whose similarity to the prompt reaches this is a choreography the prompt asks for.
CHOREOGRAPHY_MATCH = 0.55


@dataclass(frozen=True)
class LevelPlan:
    """The level of one approach and why."""

    level: str
    why: str
    base_id: str | None = None


def plan_levels(budget: str, base: BasePolicy | None, n: int, *, choreography: bool) -> list[LevelPlan]:
    """One plan per approach (n of them), in order. `choreography`: the prompt matches a command
    routine well (then, with a joystick base, one approach plays it even when there is time to train)."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    joystick = base is not None and base.joystick
    command = LevelPlan(
        "command",
        f"{BUDGET_LABELS[budget].capitalize()} budget: the {base.title if base else ''} base policy plays "
        "this command program at once -- no training." if budget == "instant" else
        f"The prompt is a choreography: the {base.title if base else ''} base policy plays it at once "
        "(no training), while the other approaches train.",
        base.id if base else None,
    )  # fmt: skip
    if budget == "instant":
        if joystick:
            return [command] * n
        if base is not None:
            why = (
                f"Nothing plays instantly here (the {base.title} base policy follows its task, not "
                "commands); fine-tuning it is the quickest way to a visible result."
            )
            return [LevelPlan("fine_tune", why, base.id)] * n
        why = "This scene has no base policy, so nothing plays instantly; a short run from scratch is the quickest."
        return [LevelPlan("from_scratch", why)] * n
    plans: list[LevelPlan] = [command] if joystick and choreography else []
    if budget == "minutes":
        if base is not None:
            why = f"A few minutes: fine-tunes the {base.title} base policy to this reward (level 2)."
            rest = LevelPlan("fine_tune", why, base.id)
        else:
            rest = LevelPlan(
                "from_scratch", "No base policy for this scene: a short run from scratch (level 3)."
            )
    else:
        rest = LevelPlan(
            "from_scratch",
            "No time limit: trains from scratch (level 3), free to find a new way of moving"
            + (f" rather than adapting the {base.title} base policy." if base is not None else "."),
        )
    return (plans + [rest] * n)[:n]


__all__ = ["BUDGETS", "BUDGET_LABELS", "Budget", "LevelPlan", "plan_levels"]
