"""Offscreen frames of a MuJoCo model with a camera that frames the robot.

Shadows and reflections are off: on CPU rendering (Mesa llvmpipe) they cost ~4x
(Go1 at 320x240: 0.55 s/frame with them, 0.13 s without).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import mujoco
import numpy as np


def fast_scene_flags(scene: mujoco.MjvScene) -> None:
    """Turn off the costly effects of a scene."""
    scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
    scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False


def tracking_camera(model: mujoco.MjModel, data: mujoco.MjData, body: int = 1) -> mujoco.MjvCamera:
    """A free camera looking at `body`'s subtree from a three-quarter view."""
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    body = min(body, model.nbody - 1)
    cam.lookat[:] = data.subtree_com[body] if model.nbody > 1 else model.stat.center
    # The robot's own size: bounding radius of its geoms around the subtree COM.
    robot_geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0]
    if robot_geoms:
        d = np.linalg.norm(data.geom_xpos[robot_geoms] - cam.lookat, axis=1) + model.geom_rbound[robot_geoms]
        extent = float(np.clip(d.max(), 0.05, 5.0))
    else:
        extent = float(model.stat.extent)
    cam.distance = 2.4 * extent
    cam.azimuth = 135.0
    cam.elevation = -20.0
    return cam


@contextmanager
def renderer(model: mujoco.MjModel, width: int, height: int) -> Iterator[mujoco.Renderer]:
    """A MuJoCo renderer sized within the model's offscreen buffer, closed afterwards."""
    # The offscreen framebuffer must be at least the image size.
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
    model.vis.global_.offheight = max(model.vis.global_.offheight, height)
    # No multisampling: on a software renderer (Mesa llvmpipe, what a CPU machine has) 4x MSAA made a
    # Go1 frame 2.5x slower (278 vs 110 ms at 480x360, measured), the difference between a video in
    # a minute and in half of one.
    model.vis.quality.offsamples = 0
    r = mujoco.Renderer(light_meshes(model), height=height, width=width)
    try:
        yield r
    finally:
        r.close()


#: Above this many mesh triangles a model's meshes are simplified for rendering: on llvmpipe a frame's
#: cost is its triangles (Go1: 206 k triangles, 66 ms per 480x360 frame; simplified to 11 k, 21 ms and
#: the same look at video size), and a 10 s video is 250 frames.
MESH_FACE_BUDGET = 50_000
#: Grid cells along a mesh's longest side when simplifying (vertex clustering).
_MESH_CELLS = 64


def light_meshes(model: mujoco.MjModel) -> mujoco.MjModel:
    """`model`, or a copy whose meshes are simplified for rendering when it has over MESH_FACE_BUDGET
    triangles. Only faces change (vertex clustering onto original vertices), so the copy poses
    from the same data; never simulate with it."""
    if int(model.nmeshface) <= MESH_FACE_BUDGET:
        return model
    light = copy.deepcopy(model)
    for mesh in range(light.nmesh):
        _cluster_faces(light, mesh)
    return light


def _cluster_faces(m: mujoco.MjModel, mesh: int) -> None:
    """Snap the mesh's vertices to one representative per grid cell; keep the faces that stay triangles.
    Kept faces move to the front of the mesh's face range and its face count shrinks."""
    va, vn = int(m.mesh_vertadr[mesh]), int(m.mesh_vertnum[mesh])
    fa, fn = int(m.mesh_faceadr[mesh]), int(m.mesh_facenum[mesh])
    if vn == 0 or fn == 0:
        return
    vert = m.mesh_vert[va : va + vn]
    low = vert.min(axis=0)
    cell = max(float((vert.max(axis=0) - low).max()) / _MESH_CELLS, 1e-9)
    keys = np.floor((vert - low) / cell).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    snapped = first[inverse.ravel()][m.mesh_face[fa : fa + fn]]
    keep = (
        (snapped[:, 0] != snapped[:, 1]) & (snapped[:, 1] != snapped[:, 2]) & (snapped[:, 0] != snapped[:, 2])
    )
    kept = int(keep.sum())
    m.mesh_face[fa : fa + kept] = snapped[keep]
    # Per-corner normal and texture indices follow their faces (the corner keeps its own normal).
    for field in ("mesh_facenormal", "mesh_facetexcoord"):
        rows = getattr(m, field, None)
        if rows is not None and len(rows) >= fa + fn:
            rows[fa : fa + kept] = rows[fa : fa + fn][keep]
    m.mesh_facenum[mesh] = kept


def render_frame(
    r: mujoco.Renderer, data: mujoco.MjData, camera: mujoco.MjvCamera | int | str = -1
) -> np.ndarray:
    """One RGB frame (H, W, 3) uint8."""
    r.update_scene(data, camera=camera)
    fast_scene_flags(r.scene)
    return r.render()


def posed(model: mujoco.MjModel, qpos: np.ndarray) -> mujoco.MjData:
    """Data at `qpos` (e.g. the scene's reference pose, `tabrl.scenes.cards.reference_qpos`), forward-computed."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_forward(model, data)
    return data
