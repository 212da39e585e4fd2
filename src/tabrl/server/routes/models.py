"""`/api/models`: the model library, ONNX export, videos on demand, WebSocket inference and live view."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from tabrl.errors import NotFoundError, TabRLError
from tabrl.jobs.store import JobStore
from tabrl.render.store import video_path
from tabrl.server.deps import JobsDep, LivePoliciesDep, LiveSimsDep, ModelId, StoreDep
from tabrl.server.inference import parse_frame
from tabrl.server.live import ACTIONS, LiveLoop, parse_control, ready_message
from tabrl.server.schemas import MODEL_ID, ErrorBody, JobOut, ModelOut, RenderRequest
from tabrl.server.views import video_url

router = APIRouter(tags=["models"])
_ERRORS = {404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}}
_MODEL_ID_RE = re.compile(MODEL_ID)
log = logging.getLogger(__name__)


def _model_dir(model_id: str) -> Path:
    from tabrl.jobs.tasks import model_dir

    return model_dir(model_id)


def model_out(path: Path, jobs: dict[str, str]) -> ModelOut:
    """The API view of the library policy in `path` (`jobs`: model id -> the job that trained it)."""
    from tabrl.policies import read_manifest
    from tabrl.render.store import video_id

    m = read_manifest(path)
    video = video_id(m.id)
    return ModelOut(
        id=m.id,
        name=m.reward.name,
        scene_id=m.scene_id,
        created_at=m.created_at,
        steps=m.steps,
        eval_reward=m.eval_reward,
        obs_size=m.observation_size,
        action_size=m.action_size,
        reward_sha256=m.reward.sha256,
        video_url=video_url(video) if video_path(video).is_file() else None,
        onnx_url=f"/api/models/{m.id}/export/onnx",
        inference_url=f"/api/models/{m.id}/inference",
        job_id=jobs.get(m.id),
        metrics=m.metrics,
        reward_source=m.reward.source,
        base_policy=m.base_policy,
        level=m.level,
        commands=m.commands,
        check=(m.check or {}).get("verdict"),  # type: ignore[arg-type]
    )


def _job_index(store: JobStore) -> dict[str, str]:
    return {
        j.result["model_id"]: j.id
        for j in store.list(kind="train", limit=10_000)
        if j.result and j.result.get("model_id")
    }


@router.get("/models", response_model=list[ModelOut], summary="Trained policies")
def list_models(store: StoreDep) -> list[ModelOut]:
    """Every policy in the model library, newest first."""
    from tabrl.jobs.tasks import policies_dir

    jobs = _job_index(store)
    dirs = [p for p in policies_dir().iterdir() if (p / "manifest.json").is_file()]
    models = [model_out(p, jobs) for p in dirs]
    return sorted(models, key=lambda m: m.created_at, reverse=True)


@router.get("/models/{model_id}", response_model=ModelOut, responses=_ERRORS, summary="One policy")
def get_model(model_id: ModelId, store: StoreDep) -> ModelOut:
    """A policy's manifest: scene, sizes, reward, metric history, links."""
    return model_out(_model_dir(model_id), _job_index(store))


@router.get(
    "/models/{model_id}/export/onnx",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **_ERRORS},
    summary="Download the policy as ONNX",
)
def export(model_id: ModelId) -> FileResponse:
    """Normaliser + MLP + deterministic action, for onnxruntime (web) and robots."""
    from tabrl.policies import export_onnx

    path = _model_dir(model_id)
    out = path / "policy.onnx"
    if not out.is_file() or out.stat().st_mtime < (path / "params.msgpack").stat().st_mtime:
        export_onnx(path, out)
    return FileResponse(out, media_type="application/octet-stream", filename=f"{model_id}.onnx")


@router.post(
    "/training/render", response_model=JobOut, status_code=201, responses=_ERRORS, summary="Render a video"
)
def render(body: RenderRequest, jobs: JobsDep) -> JobOut:
    """Queue a video of a model (10 s by default, fixed seed); the job's `video_url` says where."""
    from tabrl.jobs.requests import RenderJobRequest
    from tabrl.policies import read_manifest

    manifest = read_manifest(_model_dir(body.model_id))
    request = RenderJobRequest(model_id=body.model_id, seconds=body.seconds, seed=body.seed)
    job = jobs.store.create(
        kind="render", scene_id=manifest.scene_id, request=request, name=f"video of {body.model_id}"
    )
    return jobs.submitted(job)


@router.websocket("/models/{model_id}/inference")
async def inference(websocket: WebSocket, model_id: str, live: LivePoliciesDep) -> None:
    """Binary float32 LE observation -> action; or JSON {"observation": [...]} / {"state": {...}}.

    Every frame gets an answer: the action, or `{"error": ...}` with the connection left open.
    """
    await websocket.accept()
    try:
        if not _MODEL_ID_RE.match(model_id):
            raise NotFoundError(f"no model {model_id[:80]!r}; list models with GET /api/models")
        policy = await run_in_threadpool(live.get, _model_dir(model_id))
    except TabRLError as exc:
        await _close_with(websocket, {"error": str(exc)}, 4404)
        return
    except WebSocketDisconnect:
        return
    try:
        await websocket.send_json(
            {
                "ready": True,
                "model_id": model_id,
                "obs_size": policy.obs_size,
                "action_size": policy.action_size,
            }
        )
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                reply = await _reply(policy, message)
            except Exception as exc:  # a frame must never end the connection
                log.warning("inference frame failed: %s: %s", type(exc).__name__, exc)
                reply = {
                    "error": f"could not compute an action for this frame ({type(exc).__name__}); check it"
                }
            if isinstance(reply, bytes):
                await websocket.send_bytes(reply)
            else:
                await websocket.send_json(reply)
    except (WebSocketDisconnect, RuntimeError):
        # RuntimeError: Starlette's "send after close" when the client left mid-reply.
        return


@router.websocket("/models/{model_id}/live")
async def live(websocket: WebSocket, model_id: str, sims: LiveSimsDep, actions: str = "server") -> None:
    """The live view: the server steps the policy's simulation in real time and streams its states;
    the client resets, pauses, pushes and steers it (`tabrl.server.live` documents the messages).

    `actions=browser`: the client acts (the ONNX export in the page) -- each state carries the
    observation, and the simulation waits for the answer.
    """
    await websocket.accept()
    try:
        if not _MODEL_ID_RE.match(model_id):
            raise NotFoundError(f"no model {model_id[:80]!r}; list models with GET /api/models")
        if actions not in ACTIONS:
            await _close_with(
                websocket, {"type": "error", "error": f"actions must be one of {', '.join(ACTIONS)}"}, 4400
            )
            return
        directory = _model_dir(model_id)
        await websocket.send_json({"type": "loading"})
        sim = await run_in_threadpool(sims.acquire, directory)
    except TabRLError as exc:
        code = 4404 if isinstance(exc, NotFoundError) else 4422
        await _close_with(websocket, {"type": "error", "error": str(exc)}, code)
        return
    except WebSocketDisconnect:
        return
    except Exception as exc:  # building the simulation failed in a way TabRL does not name
        log.exception("live view of %s could not start", model_id)
        why = f"the simulation could not start ({type(exc).__name__}: {exc}); see the server log"
        await _close_with(websocket, {"type": "error", "error": why}, 1011)
        return
    lock = asyncio.Lock()

    async def send(payload: dict[str, Any]) -> None:
        async with lock:  # the loop and the reader both answer
            await websocket.send_json(payload)

    loop = LiveLoop(sim, send, actions=actions)
    try:
        await send(ready_message(sim, model_id, actions))
        stepping = asyncio.ensure_future(loop.run())
        reading = asyncio.ensure_future(_read_controls(websocket, loop, send))
        done, _ = await asyncio.wait({stepping, reading}, return_when=asyncio.FIRST_COMPLETED)
        loop.close()
        for task in (stepping, reading):
            task.cancel()
        for task in done:
            exc = None if task.cancelled() else task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("live view stopped: %s: %s", type(exc).__name__, exc)
                why = f"the simulation stopped ({type(exc).__name__}: {exc}); reload the live view"
                await _close_with(websocket, {"type": "error", "error": why}, 1011)
    except (WebSocketDisconnect, RuntimeError):
        # RuntimeError: Starlette's "send after close" when the client left mid-frame.
        pass
    finally:
        loop.close()
        await run_in_threadpool(sims.release, directory, sim)


async def _read_controls(websocket: WebSocket, loop: LiveLoop, send: Any) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        control = parse_control(text) if text is not None else {"error": "send JSON text frames"}
        error = control.get("error") or loop.handle(control)
        if error:
            await send({"type": "error", "error": error})


async def _close_with(websocket: WebSocket, payload: dict[str, Any], code: int) -> None:
    try:
        await websocket.send_json(payload)
        await websocket.close(code=code)
    except (WebSocketDisconnect, RuntimeError):
        return


async def _reply(policy: Any, message: dict[str, Any]) -> bytes | dict[str, Any]:
    if (data := message.get("bytes")) is not None:
        return policy.act_bytes(data)
    text = message.get("text")
    if text is None:
        return {"error": "empty frame; send a binary float32 frame or {'observation': [...]}"}
    frame = parse_frame(text, policy.obs_size)
    if "error" in frame:
        return frame
    if "observation" in frame:
        return policy.act_json(frame["observation"])
    return await run_in_threadpool(policy.act_state, frame["state"])
