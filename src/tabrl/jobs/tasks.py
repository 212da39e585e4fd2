"""What jobs do: train a policy (then render its video), or render a video on demand.

Each task runs inside a worker process (`tabrl.jobs.worker`) and reports through its
`JobContext`; nothing here runs in the API process except `plan_training`, which
validates a request before it is queued. A task reads its job's request through its typed
model (`tabrl.jobs.requests.load_request`): a request that does not validate fails the job,
saying why.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tabrl.errors import NotFoundError, UnavailableError
from tabrl.jobs.context import JobContext
from tabrl.paths import home_dir, sub_dir

DEFAULT_PRESET = "quick"
#: A model id is one folder name of the library: no separators, no leading dot, bounded length.
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,149}$")


def runs_dir() -> Path:
    """Training runs (checkpoints, events, config) of jobs: `<TABRL_HOME>/runs/<job_id>`."""
    return sub_dir(home_dir(), "runs")


def policies_dir() -> Path:
    """The model library: `<TABRL_HOME>/policies/<model_id>` (one policy folder each)."""
    return sub_dir(home_dir(), "policies")


def model_dir(model_id: str) -> Path:
    """The folder of library model `model_id`; NotFoundError for anything else (paths included)."""
    path = policies_dir() / model_id if MODEL_ID_RE.match(model_id) else None
    if (
        path is None
        or not (path / "manifest.json").is_file()
        or path.resolve().parent != policies_dir().resolve()
    ):
        shown = model_id if len(model_id) <= 80 else model_id[:80] + "..."
        raise NotFoundError(f"no model {shown!r} in the model library; list models with GET /api/models")
    return path


def plan_training(
    scene_id: str,
    *,
    steps: int | None,
    preset: str | None,
    reward_code: str | None,
    overrides: Mapping[str, object] | None = None,
    base_model_id: str | None = None,
    from_scratch: bool = True,
    base_id: str | None = None,
    commands: str | None = None,
    success_check: str | None = None,
) -> tuple[int, float]:
    """Check at submission everything a worker would otherwise fail on later, with the worker's
    message: the scene exists and loads here, the reward and the success check compile (traced on
    the scene), the overrides make a valid config on the backend they resolve to (a "backend"
    override, else the rule), the base policy exists. Returns (steps, estimated seconds)."""
    from tabrl.runtime import device_kind
    from tabrl.scenes import get_spec
    from tabrl.training.config import steps_for, validate_overrides
    from tabrl.training.estimates import estimate

    spec = get_spec(scene_id)
    if not spec.available:
        raise UnavailableError(
            f"scene {scene_id} needs Menagerie robot(s) {', '.join(spec.missing())}, not on this machine"
        )
    base = _base_policy(scene_id, base_model_id=base_model_id, from_scratch=from_scratch, base_id=base_id)
    overrides = dict(overrides or {})
    config = validate_overrides(scene_id, overrides, reward_source=reward_code, base_dir=base)
    device, physics = device_kind(), config.backend
    total = steps or steps_for(scene_id, preset or DEFAULT_PRESET, device, physics)
    validate_overrides(
        scene_id, {**overrides, "num_timesteps": total}, reward_source=reward_code, base_dir=base
    )
    if reward_code is not None:
        _reward_check(reward_code, spec.id)
    if commands is not None:
        _commands_check(commands, config.command_range)
    if success_check is not None:
        from tabrl.rewards.checks import compile_success

        compile_success(success_check, spec.id)
    return total, round(estimate(scene_id, device, total, physics=physics).total_s, 1)


def _reward_check(code: str, scene_id: str) -> None:
    """The static checks, then the trace on the scene (what the worker's compile does)."""
    from tabrl.rewards import check_reward
    from tabrl.rewards.result import RewardCompileError

    _static_check(code)
    result = check_reward(code, scene_id)
    if not result.valid:
        raise RewardCompileError(result.errors)


def _commands_check(code: str, command_range: tuple[float, ...] | None) -> None:
    """A command program to follow while training: the run must follow velocity commands."""
    from tabrl.rewards.commands import check_commands
    from tabrl.rewards.result import RewardCompileError

    if command_range is None:
        raise UnavailableError(
            "a command program needs a policy that follows velocity commands: fine-tune a joystick base "
            "policy (GET /api/bases) or drop `commands`"
        )
    result = check_commands(code, tuple(command_range))  # type: ignore[arg-type]
    if not result.valid:
        raise RewardCompileError(result.errors, "command program")


def _static_check(code: str) -> None:
    from tabrl.rewards.result import RewardCompileError
    from tabrl.rewards.sandbox import parse, validate

    tree, errors = parse(code)
    if tree is not None and not errors:
        errors = validate(tree)
    if errors:
        raise RewardCompileError(errors)


class _JobCancel:
    """The training engine's cancel token, backed by the job's database flag and SIGTERM."""

    def __init__(self, ctx: JobContext) -> None:
        self._ctx = ctx

    def cancel(self) -> None:
        self._ctx.stop_event.set()

    @property
    def cancelled(self) -> bool:
        return self._ctx.should_stop()


def _progress(event: Any) -> dict[str, Any]:
    data = event.to_dict()
    data.pop("timestamp", None)
    return data


def train_task(ctx: JobContext) -> dict[str, Any]:
    """Train (or resume) the job's policy, add it to the model library, render its video."""
    from tabrl.jobs.requests import TrainJobRequest
    from tabrl.policies import read_manifest
    from tabrl.training.config import resolve_config
    from tabrl.training.runner import TrainRequest, run_training

    req = TrainJobRequest.load(ctx.request, ctx.job_id)
    done = ctx.store.get(ctx.job_id).result or {}
    if done.get("training_complete") and (policies_dir() / str(done.get("model_id"))).is_dir():
        # Interrupted after training (e.g. while rendering): only the video is left to make.
        video_id = _render(ctx, policies_dir() / done["model_id"], seed=req.seed)
        return {**done, "video_id": video_id}
    base = _base_policy(
        req.scene_id, base_model_id=req.base_model_id, from_scratch=req.from_scratch, base_id=req.base_id
    )
    # Fine-tuning starts from the fine-tuning settings; the request's own settings still win. The
    # backend ("backend" override, else the rule) picks the preset.
    config = resolve_config(
        req.scene_id, overrides=req.settings(), reward_source=req.reward_code, base_dir=base
    )
    out_dir = runs_dir() / ctx.job_id
    resume = req.resume and (out_dir / "checkpoints").is_dir()
    result = run_training(
        TrainRequest(
            scene_id=req.scene_id,
            out_dir=out_dir,
            config=None if resume else config,
            reward_source=req.reward_code,
            reward_name=req.name or None,
            base_policy=base,
            resume=resume,
            run_id=ctx.job_id,
            commands=req.commands,
            success_check=req.success_check,
        ),
        on_event=lambda event: ctx.report(_progress(event)),
        cancel=_JobCancel(ctx),  # type: ignore[arg-type]
    )
    manifest = read_manifest(result.policy_dir)
    library_dir = policies_dir() / manifest.id
    # A resumed job replaces the policy its earlier attempt left in the library.
    staging = library_dir.with_name(f".{library_dir.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(result.policy_dir, staging)
    shutil.rmtree(library_dir, ignore_errors=True)
    staging.rename(library_dir)
    complete = result.status == "finished" or result.steps >= req.steps
    summary = {
        **result.to_dict(),
        "model_id": manifest.id,
        "policy_dir": str(library_dir),
        "training_complete": complete,
    }
    ctx.store.update_result(ctx.job_id, **summary)
    if ctx.interrupted or not req.video:
        return summary
    video_id = _render(ctx, library_dir, seed=req.seed)
    return {**summary, "video_id": video_id}


def play_commands(base_dir: Path, code: str, *, name: str = "") -> Path:
    """Level 1: add the joystick policy in `base_dir` playing command program `code` to the model
    library (no training); its folder. The program is checked first (errors with lines)."""
    from tabrl.policies import read_manifest
    from tabrl.policies.commands import command_policy
    from tabrl.policies.store import new_policy_id

    model_id = new_policy_id(read_manifest(base_dir).scene_id)
    command_policy(base_dir, code, policies_dir() / model_id, name=name, policy_id=model_id)
    return policies_dir() / model_id


def _base_policy(
    scene_id: str, *, base_model_id: str | None, from_scratch: bool, base_id: str | None
) -> Path | None:
    from tabrl.scenes.bases import get_base, scene_base

    if base_id:
        base = get_base(base_id)
        if base.scene_id != scene_id:
            raise UnavailableError(f"base policy {base.id} is for {base.scene_id}, not {scene_id}")
        return base.dir
    if base_model_id:
        try:
            return model_dir(base_model_id)
        except NotFoundError:
            raise NotFoundError(
                f"no model {base_model_id[:80]!r} in the model library to fine-tune from; "
                "list models with GET /api/models"
            ) from None
    if not from_scratch:
        found = scene_base(scene_id)
        if found is None:
            raise UnavailableError(
                f"{scene_id} has no base policy to fine-tune; train from scratch, pass base_model_id, "
                "or train one with `tabrl base train`"
            )
        return found.dir
    return None


def _render(ctx: JobContext, model_dir: Path, seed: int, seconds: float | None = None) -> str:
    from tabrl.render.store import VIDEO_SECONDS, video_id, video_path
    from tabrl.training.video import render_policy_video

    seconds = seconds or VIDEO_SECONDS
    vid = video_id(model_dir.name, seed, seconds)
    ctx.event("rendering", {"seconds": seconds})
    render_policy_video(model_dir, video_path(vid), seconds=seconds, seed=seed)
    ctx.event("video", {"video_id": vid})
    return vid


def render_task(ctx: JobContext) -> dict[str, Any]:
    """Render a video of an existing model (`POST /api/training/render`); a command program's model
    with a success check is judged on it next (it had no training to judge it after). The video
    comes first: it is what the person is waiting for (level 1 promises one in seconds)."""
    from tabrl.jobs.requests import RenderJobRequest

    req = RenderJobRequest.load(ctx.request, ctx.job_id)
    path = model_dir(req.model_id)
    result: dict[str, Any] = {"model_id": req.model_id}
    video_id = _render(ctx, path, seed=req.seed, seconds=req.seconds)
    result["video_id"] = video_id
    ctx.store.update_result(ctx.job_id, **result)
    if req.success_check:
        from tabrl.training.runner import judge_policy

        result["check"], _ = judge_policy(path, req.success_check)
    return result


TASKS: dict[str, Callable[[JobContext], dict[str, Any]]] = {"train": train_task, "render": render_task}
