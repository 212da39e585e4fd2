"""`/api/playground/...`: the scene gallery, robot cards and thumbnails."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from tabrl.server.deps import SceneId
from tabrl.server.schemas import ErrorBody, SceneBundleOut, SceneCard, SceneSummary

router = APIRouter(prefix="/playground", tags=["scenes"])
_ERRORS = {404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}}


def _thumb_url(scene_id: str) -> str:
    return f"/api/playground/{scene_id}/thumbnail"


def _list() -> list[SceneSummary]:
    """Every loadable scene; sizes and estimate from cards built before or the shipped index (none loaded)."""
    from dataclasses import asdict

    from tabrl.runtime import device_kind
    from tabrl.scenes import has_base_policy, list_specs
    from tabrl.scenes.cards import SIZE_KEYS, licences
    from tabrl.scenes.index import scene_facts
    from tabrl.training.estimates import format_duration, scene_estimate

    device = device_kind()
    out = []
    for spec in list_specs():
        facts = scene_facts(spec) or {}
        row: dict = {"id": spec.id, "name": spec.name, "category": spec.category, "source": spec.source}
        row.update({k: facts.get(k) for k in SIZE_KEYS})
        row["has_base_policy"] = has_base_policy(spec.id)
        row["licences"] = [asdict(lic) for lic in licences(spec)]
        found = scene_estimate(spec.id, device, facts=facts or None)
        if found is not None:
            _, physics, est = found
            basis = "measured" if est.basis == "measured" else "rough estimate"
            row["estimate_s"] = round(est.total_s, 1)
            engine = "MuJoCo C" if physics == "mujoco" else "MJX"
            row["estimate_label"] = (
                f"about {format_duration(est.total_s)} to train on this {device.upper()} ({engine}, {basis})"
            )
        out.append(SceneSummary(**row, thumbnail_url=_thumb_url(spec.id)))
    return out


@router.get("/scenes", response_model=list[SceneSummary], summary="List scenes that load on this machine")
def list_scenes() -> list[SceneSummary]:
    """Every scene whose files are on this machine, with its card summary."""
    return _list()


@router.get("/models", response_model=list[SceneSummary], summary="Alias of /playground/scenes")
def list_models() -> list[SceneSummary]:
    """The product brief's name for the scene list."""
    return _list()


@router.get("/{scene_id}", response_model=SceneCard, responses=_ERRORS, summary="A scene's robot card")
def get_scene(scene_id: SceneId) -> SceneCard:
    """Bodies, joints, actuators, sensors, feet, sizes and timesteps of one scene."""
    from tabrl.scenes import robot_card

    card = robot_card(scene_id)
    return SceneCard(**card.to_dict(), thumbnail_url=_thumb_url(scene_id))


@router.get(
    "/{scene_id}/thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}, **_ERRORS},
    summary="Rendered still of a scene (PNG)",
)
def get_thumbnail(scene_id: SceneId) -> FileResponse:
    """A 320x240 PNG rendered headlessly with MuJoCo, cached on disk."""
    from tabrl.scenes.thumbnails import thumbnail

    path = thumbnail(scene_id)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@router.get(
    "/{scene_id}/mjcf",
    response_model=SceneBundleOut,
    responses=_ERRORS,
    summary="Scene files for MuJoCo WASM",
)
def get_mjcf(scene_id: SceneId) -> SceneBundleOut:
    """The scene as flat files: `main` XML (includes inlined) plus assets (base64 when binary)."""
    import base64

    from tabrl.scenes.export import scene_bundle

    bundle = scene_bundle(scene_id)
    files: dict[str, str] = {}
    binary: list[str] = []
    for name, data in bundle.files.items():
        if name.lower().endswith(".xml"):
            files[name] = data.decode()
        else:
            files[name] = base64.b64encode(data).decode()
            binary.append(name)
    return SceneBundleOut(scene_id=scene_id, main=bundle.main, files=files, binary=binary)
