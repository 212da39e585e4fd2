"""`/api/training/...`: start jobs (one or a batch), watch them live, cancel, resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from tabrl.errors import TabRLError
from tabrl.jobs.models import TERMINAL
from tabrl.server.deps import BatchId, BatchIdQuery, JobId, Jobs, JobsDep, SceneIdQuery
from tabrl.server.schemas import (
    BackendChoice,
    BatchOut,
    ErrorBody,
    JobOut,
    PresetOut,
    PresetsOut,
    RefineRequest,
    TrainBatchRequest,
    TrainStartRequest,
)
from tabrl.server.views import event_out

router = APIRouter(prefix="/training", tags=["training"])
_ERRORS = {404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}}
_POLL_S = 0.5


def _overrides(body: TrainStartRequest | TrainBatchRequest) -> dict[str, Any]:
    """The request's overrides, with its `backend` field (when not auto) as the "backend" override."""
    overrides = dict(body.overrides)
    if body.backend != "auto":
        overrides["backend"] = body.backend
    return overrides


@router.get(
    "/presets", response_model=PresetsOut, responses=_ERRORS, summary="Step budgets with time estimates"
)
def presets(
    scene_id: SceneIdQuery,
    backend: Annotated[BackendChoice, Query(description="Physics backend (auto: the rule).")] = "auto",
) -> PresetsOut:
    """quick / standard / quality for a scene, with time estimates for this server's device and backend."""
    from tabrl.runtime import device_kind
    from tabrl.scenes import get_spec, has_base_policy, load_scene
    from tabrl.training.backends import scene_support
    from tabrl.training.config import STEPS_PRESETS, backend_for, steps_for
    from tabrl.training.estimates import estimate, format_duration

    spec = get_spec(scene_id)
    device = device_kind()
    loaded = load_scene(spec) if spec.available else None
    # Estimates are for training an approach: a reward module that does not read s.task_reward.
    physics = backend_for(scene_id, device, "", backend) if loaded else "mjx"
    presets = []
    for name in STEPS_PRESETS:
        steps = steps_for(scene_id, name, device, physics)
        est = estimate(
            scene_id,
            device,
            steps,
            mj_model=loaded.mj_model if loaded else None,
            n_substeps=loaded.n_substeps if loaded else 1,
            physics=physics,
        )
        label = (
            f"{name}: {steps:,} steps, about {format_duration(est.total_s)} on this {device.upper()} "
            f"({'MuJoCo C' if physics == 'mujoco' else 'MJX'})"
        )
        presets.append(
            PresetOut(name=name, steps=steps, estimate_s=round(est.total_s, 1), label=label, basis=est.basis)
        )
    return PresetsOut(
        scene_id=scene_id, device=device, backend=physics,
        backends=list(scene_support(scene_id).backends) if loaded else ["mjx"],
        presets=presets, fine_tune_available=has_base_policy(scene_id),
    )  # fmt: skip


@router.post("/start", response_model=JobOut, status_code=201, responses=_ERRORS, summary="Train one policy")
def start(body: TrainStartRequest, jobs: JobsDep) -> JobOut:
    """Queue a training job; it starts when a worker slot is free."""
    from tabrl.jobs.requests import TrainJobRequest
    from tabrl.jobs.tasks import plan_training

    # Everything a worker would fail on is checked here (4xx at the edge); the step budget resolved.
    steps, estimate = plan_training(
        body.scene_id,
        steps=body.steps,
        preset=body.preset,
        reward_code=body.reward_code,
        overrides=_overrides(body),
        base_model_id=body.base_model_id,
        from_scratch=body.from_scratch,
        base_id=body.base_id,
        success_check=body.success_check,
    )
    request = TrainJobRequest(
        scene_id=body.scene_id,
        seed=body.seed,
        overrides=_overrides(body),
        reward_code=body.reward_code,
        steps=steps,
        base_model_id=body.base_model_id,
        from_scratch=body.from_scratch,
        name=body.name,
        base_id=body.base_id,
        success_check=body.success_check,
        video=body.video,
    )
    job = jobs.store.create(
        kind="train", scene_id=body.scene_id, request=request, name=body.name, estimate_s=estimate
    )
    return jobs.submitted(job)


@router.post(
    "/batch", response_model=BatchOut, status_code=201, responses=_ERRORS, summary="Train N approaches"
)
def batch(body: TrainBatchRequest, jobs: JobsDep) -> BatchOut:
    """One job per approach, same scene and seed, run in parallel (up to the worker limit). A command
    approach (level 1) becomes a model at once and its job renders the video; the others train."""
    from tabrl.jobs.batches import submit_batch

    items = body.approaches
    batch_id, created = submit_batch(
        jobs.store, body.scene_id, items, steps=body.steps, preset=body.preset, overrides=_overrides(body),
        seed=body.seed, prompt=body.prompt,
    )  # fmt: skip
    return BatchOut(batch_id=batch_id, jobs=[jobs.submitted(j) for j in created])


@router.get("", response_model=list[JobOut], summary="List jobs")
def list_jobs(jobs: JobsDep, batch_id: BatchIdQuery | None = None) -> list[JobOut]:
    """Newest first; filter by batch."""
    return jobs.outs(jobs.store.list(batch_id=batch_id))


@router.get("/batch/{batch_id}", response_model=BatchOut, responses=_ERRORS, summary="A batch, best first")
def batch_ranking(batch_id: BatchId, jobs: JobsDep) -> BatchOut:
    """The batch's jobs ranked by their success checks (passed, then score; unjudged last), then by
    evaluation reward, each with its `rank`."""
    from tabrl.errors import NotFoundError
    from tabrl.jobs.batches import batch_round, rank_jobs

    found = jobs.store.list(batch_id=batch_id)
    if not found:
        raise NotFoundError(f"no batch {batch_id}; POST /api/training/batch creates one")
    ranked = [view.model_copy(update={"rank": i + 1}) for i, view in enumerate(jobs.outs(rank_jobs(found)))]
    rnd, parent = batch_round(found)
    return BatchOut(batch_id=batch_id, jobs=ranked, round=rnd, parent_batch_id=parent)


@router.post(
    "/batch/{batch_id}/refine", response_model=BatchOut, status_code=201, responses=_ERRORS,
    summary="Train the next round of a batch",
)  # fmt: skip
def refine(batch_id: BatchId, jobs: JobsDep, body: RefineRequest | None = None) -> BatchOut:
    """Reflect on a finished batch (each approach's success check, per-term reward statistics and
    reward curve) and submit the next round as a new batch linked to it: an LLM provider gets the
    results as feedback; offline, rules adjust weights, bands and margins. 409 while it trains."""
    from tabrl.jobs.batches import refine_batch

    req = body or RefineRequest()
    new_batch, created, _ = refine_batch(
        jobs.store, batch_id, prompt=req.prompt, provider=req.provider, model=req.model,
        base_url=req.base_url, n=req.n,
    )  # fmt: skip
    rnd = int(created[0].request.get("round") or 2)
    return BatchOut(
        batch_id=new_batch, jobs=[jobs.submitted(j) for j in created], round=rnd, parent_batch_id=batch_id
    )


@router.get("/{job_id}/status", response_model=JobOut, responses=_ERRORS, summary="A job's status")
def status(job_id: JobId, jobs: JobsDep) -> JobOut:
    """Status, queue position and estimated start, latest progress, history, outputs."""
    return jobs.out(jobs.store.get(job_id))


@router.post("/{job_id}/cancel", response_model=JobOut, responses=_ERRORS, summary="Cancel a job")
def cancel(job_id: JobId, jobs: JobsDep) -> JobOut:
    """Queued: cancelled at once. Running: stops at the next progress point, keeping its checkpoint."""
    job = jobs.store.request_cancel(job_id)
    return jobs.submitted(job)


@router.post("/{job_id}/resume", response_model=JobOut, responses=_ERRORS, summary="Resume a job")
def resume(job_id: JobId, jobs: JobsDep) -> JobOut:
    """Requeue an interrupted or failed job; it continues from its last checkpoint."""
    job = jobs.store.requeue(job_id, resume=True)
    return jobs.submitted(job)


async def _event_stream(jobs: Jobs, job_id: str) -> AsyncIterator[dict[str, Any]]:
    """A snapshot, then every new event, until the job reaches a terminal status."""
    job = jobs.store.get(job_id)
    yield {"type": "snapshot", "job": jobs.out(job).model_dump(mode="json")}
    last = max((e.id or 0 for e in jobs.store.events_after(job_id)), default=0)
    if job.status in TERMINAL:
        return
    while True:
        await asyncio.sleep(_POLL_S)
        events = await run_in_threadpool(jobs.store.events_after, job_id, last)
        for e in events:
            last = e.id or last
            yield event_out(e)
            if e.type == "status" and e.payload.get("status") in TERMINAL:
                yield {"type": "snapshot", "job": jobs.out(jobs.store.get(job_id)).model_dump(mode="json")}
                return


@router.websocket("/{job_id}/events")
async def events_ws(websocket: WebSocket, job_id: str, jobs: JobsDep) -> None:
    """Live progress as JSON text frames; closes after the job ends."""
    await websocket.accept()
    try:
        try:
            jobs.store.get(job_id)
        except TabRLError as exc:
            await websocket.send_json({"type": "error", "message": str(exc)})
            await websocket.close(code=4404)
            return
        async for event in _event_stream(jobs, job_id):
            await websocket.send_json(event)
        await websocket.close()
    except (WebSocketDisconnect, RuntimeError):
        # RuntimeError: Starlette's "send after close" when the client left between two events.
        return


@router.get(
    "/{job_id}/events",
    responses={200: {"content": {"text/event-stream": {}}}, **_ERRORS},
    summary="Live progress (Server-Sent Events)",
)
def events_sse(job_id: JobId, jobs: JobsDep) -> StreamingResponse:
    """The same events as the WebSocket, for curl: `curl -N .../events`."""
    jobs.store.get(job_id)  # 404 before the stream starts

    async def body() -> AsyncIterator[bytes]:
        async for event in _event_stream(jobs, job_id):
            yield f"event: {event['type']}\ndata: {json.dumps(event, default=str)}\n\n".encode()

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
