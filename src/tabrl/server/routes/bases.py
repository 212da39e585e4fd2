"""`/api/bases`: base policies; `/api/commands/*`: level-1 command programs played on them."""

from __future__ import annotations

from fastapi import APIRouter

from tabrl.server.deps import JobsDep, SceneIdQuery
from tabrl.server.schemas import (
    BaseOut,
    CommandCheckRequest,
    CommandCheckResponse,
    ErrorBody,
    PlayOut,
    PlayRequest,
)

router = APIRouter(tags=["bases"])
_ERRORS = {404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.get("/bases", response_model=list[BaseOut], summary="Base policies")
def list_bases(scene_id: SceneIdQuery | None = None) -> list[BaseOut]:
    """Base policies on this server (shipped, or installed by `tabrl base train`), optionally of one scene."""
    from tabrl.scenes.bases import list_bases as installed

    return [BaseOut(**{k: v for k, v in b.to_dict().items() if k != "dir"}) for b in installed(scene_id)]


@router.post(
    "/commands/check",
    response_model=CommandCheckResponse,
    responses=_ERRORS,
    summary="Check a command program",
)
def check_commands(body: CommandCheckRequest) -> CommandCheckResponse:
    """Check a command program for a joystick base policy: errors with lines, clipping warnings, and
    the commands it gives over time."""
    from tabrl.jobs.batches import joystick_base
    from tabrl.rewards import commands

    limits = joystick_base(None, body.base_id).command_range
    result = commands.check_commands(body.code, limits)
    preview: list[list[float]] = []
    if result.valid:
        dt = 0.1
        values = commands.compile_commands(body.code, limits).sample(body.seconds, dt)
        preview = [[round(i * dt, 3), *(round(float(v), 4) for v in row)] for i, row in enumerate(values)]
    return CommandCheckResponse(**result.to_dict(), preview=preview)


@router.post(
    "/commands/play",
    response_model=PlayOut,
    status_code=201,
    responses=_ERRORS,
    summary="Play a command program",
)
def play(body: PlayRequest, jobs: JobsDep) -> PlayOut:
    """Level 1: the joystick base policy plays the program -- no training. The model exists at once
    (live view, ONNX, downloads); its video renders as a job."""
    from tabrl.jobs.batches import joystick_base
    from tabrl.jobs.requests import RenderJobRequest
    from tabrl.jobs.tasks import play_commands
    from tabrl.policies import read_manifest
    from tabrl.server.routes.models import model_out

    base = joystick_base(None, body.base_id)
    path = play_commands(base.dir, body.commands, name=body.name or "command program")  # type: ignore[attr-defined]
    manifest = read_manifest(path)
    job = jobs.store.create(
        kind="render", scene_id=manifest.scene_id, name=f"video of {body.name or manifest.id}",
        request=RenderJobRequest(model_id=manifest.id, seed=body.seed), batch_id=body.batch_id,
    )  # fmt: skip
    return PlayOut(model=model_out(path, {}), job=jobs.submitted(job))
