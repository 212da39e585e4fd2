"""Batches: the approaches of one prompt, submitted together and ranked by their success checks.

One place for what the HTTP API (`POST /api/training/batch`, `GET /api/training/batch/{id}`) and
the CLI (`tabrl teach`) both do: check every approach before anything is created (one bad approach
refuses the whole batch, with its message), create one job per approach -- a training job, or for
a command program (level 1) a model at once and a job that renders its video -- and rank the jobs
by their verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tabrl.errors import UnavailableError
from tabrl.jobs.models import Job
from tabrl.jobs.store import JobStore, new_id


@dataclass(frozen=True)
class BatchItem:
    """One approach to submit: a reward to train (fine_tune / from_scratch) or a command program."""

    name: str
    level: str = "from_scratch"
    reward_code: str = ""
    steps: int | None = None
    commands: str | None = None
    base_id: str | None = None
    success_check: str | None = None

    @classmethod
    def from_approach(cls, approach: Any) -> BatchItem:
        """From an authoring `Approach` (or anything with the same fields)."""
        return cls(
            name=approach.name,
            level=approach.level,
            reward_code=approach.reward_code or "",
            steps=approach.steps or None,
            commands=approach.commands,
            base_id=approach.base_id,
            success_check=getattr(approach, "success_check", None),
        )


def joystick_base(scene_id: str | None, base_id: str | None) -> Any:
    """The joystick base policy a command program plays on: the named one (which must be the scene's,
    when a scene is given), else the scene's."""
    from tabrl.scenes.bases import get_base, scene_base

    base = get_base(base_id) if base_id else scene_base(scene_id) if scene_id else None
    if base is not None and base.command_range is None:
        raise UnavailableError(
            f"base policy {base.id} follows its task, not velocity commands; command programs need a "
            "joystick base policy (GET /api/bases or `tabrl base list` shows them with kind joystick)"
        )
    if base is None or (scene_id is not None and base.scene_id != scene_id):
        raise UnavailableError(
            f"{scene_id} has no joystick base policy{f' {base_id}' if base_id else ''} to play a command "
            "program on; GET /api/bases (or `tabrl base list`) lists them, or train the approach as a reward"
        )
    return base


def check_program(scene_id: str, code: str, base_id: str | None) -> Any:
    """Check a command program against the base it plays on; the base. RewardCompileError when invalid."""
    from tabrl.rewards.commands import check_commands
    from tabrl.rewards.result import RewardCompileError

    base = joystick_base(scene_id, base_id)
    result = check_commands(code, base.command_range)
    if not result.valid:
        raise RewardCompileError(result.errors, "command program")
    return base


def submit_batch(
    store: JobStore,
    scene_id: str,
    items: Sequence[BatchItem],
    *,
    steps: int | None = None,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[str, list[Job]]:
    """Check every item, then create its job; (batch id, jobs in the items' order)."""
    from tabrl.jobs.tasks import plan_training

    overrides = dict(overrides or {})
    plans: list[tuple[int, float | None]] = []
    for item in items:
        if item.level == "command":
            check_program(scene_id, item.commands or "", item.base_id)
            if item.success_check:
                from tabrl.rewards.checks import compile_success

                compile_success(item.success_check, scene_id)
            plans.append((0, None))
            continue
        plan = plan_training(
            scene_id, steps=item.steps or steps, preset=preset, reward_code=item.reward_code,
            overrides=overrides, from_scratch=item.level == "from_scratch", base_id=item.base_id,
            commands=item.commands, success_check=item.success_check,
        )  # fmt: skip
        plans.append(plan)
    batch_id = new_id("batch")
    created = []
    for i, (item, (total, estimate)) in enumerate(zip(items, plans, strict=True)):
        name = item.name or f"approach {i + 1}"
        if item.level == "command":
            created.append(_play(store, scene_id, item, name, batch_id, seed))
            continue
        request = {
            "scene_id": scene_id, "seed": seed, "overrides": overrides, "reward_code": item.reward_code,
            "steps": total, "from_scratch": item.level == "from_scratch", "name": name,
            "base_id": item.base_id, "commands": item.commands, "success_check": item.success_check,
        }  # fmt: skip
        job = store.create(
            kind="train",
            scene_id=scene_id,
            request=request,
            name=name,
            batch_id=batch_id,
            estimate_s=estimate,
        )
        created.append(job)
    return batch_id, created


def _play(store: JobStore, scene_id: str, item: BatchItem, name: str, batch_id: str, seed: int) -> Job:
    from tabrl.jobs.tasks import play_commands
    from tabrl.policies import read_manifest

    base = joystick_base(scene_id, item.base_id)
    path = play_commands(base.dir, item.commands or "", name=name)
    request = {"model_id": read_manifest(path).id, "seed": seed, "level": "command",
               "success_check": item.success_check}  # fmt: skip
    return store.create(kind="render", scene_id=scene_id, request=request, name=name, batch_id=batch_id,
                        estimate_s=None)  # fmt: skip


def rank_jobs(jobs: Sequence[Job]) -> list[Job]:
    """Best first: by success-check verdict (passed, score, pass rate), then evaluation reward; jobs
    never judged come after the judged ones."""
    from tabrl.rewards.checks import rank_key

    def key(job: Job) -> tuple[float, ...]:
        result = job.result or {}
        reward = result.get("eval_reward")
        return (*rank_key(result.get("check")), float(reward) if reward is not None else -1e18)

    return sorted(jobs, key=key, reverse=True)


__all__ = ["BatchItem", "check_program", "joystick_base", "rank_jobs", "submit_batch"]
