"""Batches: the approaches of one prompt, submitted together and ranked by their success checks.

One place for what the HTTP API (`POST /api/training/batch`, `GET /api/training/batch/{id}`) and
the CLI (`tabrl teach`) both do: check every approach before anything is created (one bad approach
refuses the whole batch, with its message), create one job per approach -- a training job, or for
a command program (level 1) a model at once and a job that renders its video -- and rank the jobs
by their verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, model_validator

from tabrl.authoring.approach import Approach, Level
from tabrl.errors import UnavailableError
from tabrl.jobs.models import TERMINAL, Job
from tabrl.jobs.requests import RenderJobRequest, TrainJobRequest
from tabrl.jobs.store import JobStore, new_id

#: The most environment steps one job may train (the API's and the LLM schema's limit).
MAX_STEPS = 2_000_000_000


class BatchApproach(BaseModel):
    """One approach of a batch: a reward to train (fine_tune / from_scratch) or a command program
    to play on a joystick base policy (command: a model at once, then its video). The API's batch
    request and `tabrl teach` submit this one model."""

    model_config = {"extra": "forbid"}

    name: str = Field(default="", max_length=120)
    reward_code: str = Field(default="", max_length=50_000)
    steps: int | None = Field(default=None, ge=1_000, le=MAX_STEPS)
    level: Level = "from_scratch"
    commands: str | None = Field(default=None, min_length=1, max_length=20_000)
    base_id: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-]{0,63}$")
    success_check: str | None = Field(
        default=None, min_length=1, max_length=20_000,
        description="Success check source: judged on rollouts after training (ranks the batch).",
    )  # fmt: skip

    @model_validator(mode="after")
    def _code_for_level(self) -> BatchApproach:
        if self.level == "command" and not self.commands:
            raise ValueError("a command approach needs `commands` (a program defining command(t))")
        if self.level != "command" and not self.reward_code.strip():
            raise ValueError(f"a {self.level} approach needs `reward_code`")
        return self

    @classmethod
    def from_approach(cls, approach: Approach) -> BatchApproach:
        """From an authoring `Approach` (what `generate_approaches` and refining return)."""
        return cls(
            name=approach.name,
            level=approach.level,
            reward_code=approach.reward_code or "",
            steps=approach.steps or None,
            commands=approach.commands or None,
            base_id=approach.base_id,
            success_check=approach.success_check or None,
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
    items: Sequence[BatchApproach],
    *,
    steps: int | None = None,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    seed: int = 0,
    round: int = 1,
    parent_batch_id: str | None = None,
    prompt: str | None = None,
) -> tuple[str, list[Job]]:
    """Check every item, then create its job; (batch id, jobs in the items' order).

    `round` and `parent_batch_id` (a refined round, `refine_batch`) and the person's `prompt` are
    kept in each job's request: the batch's rounds are read back from there (`batch_round`)."""
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
    lineage = {"round": round, "parent_batch_id": parent_batch_id, "prompt": prompt}
    created = []
    for i, (item, (total, estimate)) in enumerate(zip(items, plans, strict=True)):
        name = item.name or f"approach {i + 1}"
        if item.level == "command":
            created.append(_play(store, scene_id, item, name, batch_id, seed, lineage))
            continue
        request = TrainJobRequest(
            scene_id=scene_id, seed=seed, overrides=overrides, reward_code=item.reward_code,
            steps=total, from_scratch=item.level == "from_scratch", name=name,
            base_id=item.base_id, commands=item.commands, success_check=item.success_check,
            level=item.level, **lineage,
        )  # fmt: skip
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


def _play(
    store: JobStore,
    scene_id: str,
    item: BatchApproach,
    name: str,
    batch_id: str,
    seed: int,
    lineage: dict[str, Any],
) -> Job:
    from tabrl.jobs.tasks import play_commands
    from tabrl.policies import read_manifest

    base = joystick_base(scene_id, item.base_id)
    path = play_commands(base.dir, item.commands or "", name=name)
    request = RenderJobRequest(
        model_id=read_manifest(path).id, seed=seed, level="command", success_check=item.success_check,
        commands=item.commands, base_id=item.base_id, **lineage,
    )  # fmt: skip
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


def batch_round(jobs: Sequence[Job]) -> tuple[int, str | None]:
    """(round, parent batch id) of a batch's jobs: round 1 and no parent unless refined."""
    request = jobs[0].request if jobs else {}
    return int(request.get("round") or 1), request.get("parent_batch_id")


def job_outcome(job: Job, approach: Any = None, round: int | None = None) -> Any:
    """What a job's approach got, for reflection (`tabrl.authoring.reflection.Outcome`): its
    verdict and its policy's evaluation history; the approach is rebuilt from the job's request
    when not given."""
    from tabrl.authoring import Approach
    from tabrl.authoring.reflection import Outcome
    from tabrl.jobs.tasks import policies_dir
    from tabrl.policies import read_manifest
    from tabrl.rewards.checks import Verdict

    req, result = job.request, job.result or {}
    if approach is None:
        approach = Approach(
            name=job.name, description="", reward_code=req.get("reward_code") or "", valid=True, errors=[],
            level=req.get("level") or ("from_scratch" if req.get("from_scratch", True) else "fine_tune"),
            steps=int(req.get("steps") or 0), commands=req.get("commands"), base_id=req.get("base_id"),
            success_check=req.get("success_check"),
        )  # fmt: skip
    check, history = result.get("check"), []
    if result.get("model_id"):
        try:
            history = list(read_manifest(policies_dir() / result["model_id"]).metrics)
        except (OSError, ValueError):
            history = []  # a policy removed meanwhile: reflect on the verdict alone
    return Outcome(
        approach,
        Verdict.from_dict(check) if check else None,
        history,
        error=job.error or (None if check else job.status),
        round=round if round is not None else int(req.get("round") or 1),
    )


def refine_batch(
    store: JobStore,
    batch_id: str,
    *,
    prompt: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    n: int | None = None,
) -> tuple[str, list[Job], Any]:
    """The next round of a finished batch: reflect on its jobs' results (`tabrl.authoring.reflection`)
    and submit the improved approaches as a new batch linked to it, same scene, seed, overrides and
    per-approach steps; (new batch id, its jobs, the GenerationResult)."""
    from tabrl.authoring.reflection import reflect
    from tabrl.errors import NotFoundError, TabRLError

    jobs = store.list(batch_id=batch_id)
    if not jobs:
        raise NotFoundError(f"no batch {batch_id}; POST /api/training/batch creates one")
    busy = [j.name for j in jobs if j.status not in (*TERMINAL, "interrupted")]
    if busy:
        raise UnavailableError(
            f"batch {batch_id} is still training ({', '.join(busy)}); refine it once every job has ended"
        )
    rnd, _ = batch_round(jobs)
    first = jobs[0].request
    prompt = prompt or first.get("prompt")
    ranked = rank_jobs(jobs)
    outcomes = [job_outcome(j, round=rnd) for j in ranked]
    # A batch submitted without its prompt: its success checks still say what was asked.
    task = prompt or "the behaviour the success checks below measure"
    result = reflect(
        jobs[0].scene_id, task, outcomes, provider=provider,
        model=model, base_url=base_url, n=n or len(jobs),
    )  # fmt: skip
    valid = [a for a in result.approaches if a.valid]
    if not valid:
        why = "; ".join(f"{a.name}: {(a.errors or a.check_errors or [{'message': 'invalid'}])[0]['message']}"
                        for a in result.approaches)  # fmt: skip
        raise TabRLError(
            f"no next round for batch {batch_id}: "
            + (
                why
                or "the rules found nothing to change (every approach passed, or no failed goal they can act on)"
            )
        )
    new_id_, created = submit_batch(
        store, jobs[0].scene_id, [_with_round_steps(BatchApproach.from_approach(a), jobs) for a in valid],
        overrides=first.get("overrides") or {}, seed=int(first.get("seed") or 0), round=rnd + 1,
        parent_batch_id=batch_id, prompt=prompt or None,
    )  # fmt: skip
    return new_id_, created, result


def _with_round_steps(item: BatchApproach, jobs: list[Job]) -> BatchApproach:
    """`item` training as long as the earlier round's approach of its level did (its steps were
    planned for the person's budget when that round was submitted; the longest when no job of
    that level trained)."""
    if item.level == "command":
        return item
    trained = [j for j in jobs if j.request.get("level") != "command" and j.request.get("steps")]
    same = [int(j.request["steps"]) for j in trained if j.request.get("level") == item.level]
    steps = same[0] if same else max((int(j.request["steps"]) for j in trained), default=None)
    return item.model_copy(update={"steps": steps})


__all__ = [
    "BatchApproach",
    "batch_round",
    "check_program",
    "job_outcome",
    "joystick_base",
    "rank_jobs",
    "refine_batch",
    "submit_batch",
]
