"""Frames on a software renderer: heavy meshes are simplified for rendering, not for physics."""

from __future__ import annotations

import mujoco
import numpy as np

from tabrl.render.frames import MESH_FACE_BUDGET, light_meshes, render_frame, renderer, tracking_camera
from tabrl.scenes import load_scene


def test_heavy_meshes_are_simplified_and_look_the_same() -> None:
    model = load_scene("Go1JoystickFlatTerrain").mj_model
    assert model.nmeshface > MESH_FACE_BUDGET  # Menagerie's Go1: ~206 k triangles
    light = light_meshes(model)
    assert light is not model and int(light.mesh_facenum.sum()) < model.nmeshface // 10
    # The original is untouched (it is the one that simulates).
    assert int(model.mesh_facenum.sum()) == model.nmeshface
    # Kept faces index their own mesh's vertices.
    for m in range(light.nmesh):
        fa, fn, vn = light.mesh_faceadr[m], light.mesh_facenum[m], light.mesh_vertnum[m]
        assert fn > 0 and light.mesh_face[fa : fa + fn].max() < vn
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, 0)
    mujoco.mj_forward(model, data)
    cam = tracking_camera(model, data)
    with renderer(model, 160, 120) as r:  # renders the simplified copy
        simplified = render_frame(r, data, cam).astype(float)
    full = mujoco.Renderer(model, 120, 160)
    try:
        full.update_scene(data, camera=cam)
        full.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        full.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        reference = full.render().astype(float)
    finally:
        full.close()
    # Same silhouette and shading: a small mean difference per pixel (of 255).
    assert np.abs(simplified - reference).mean() < 3.0


def test_light_models_are_left_alone() -> None:
    model = load_scene("CartpoleBalance").mj_model
    assert light_meshes(model) is model
