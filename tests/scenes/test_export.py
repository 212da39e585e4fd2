"""Scene bundles compile back to the same model (what the browser's MuJoCo loads)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from tabrl.scenes import load_scene
from tabrl.scenes.export import MAIN, scene_bundle


@pytest.mark.parametrize("scene_id", ["CartpoleBalance", "Go1JoystickFlatTerrain", "unitree_go1"])
def test_bundle_round_trip(scene_id: str, tmp_path) -> None:
    bundle = scene_bundle(scene_id)
    # A flat folder on disk, as in MuJoCo WASM's virtual file system.
    for name, data in bundle.files.items():
        assert "/" not in name
        (tmp_path / name).write_bytes(data)
    again = mujoco.MjModel.from_xml_path(str(tmp_path / MAIN))
    model = load_scene(scene_id).mj_model
    for field in ("nq", "nv", "nu", "nbody", "ngeom", "nmesh"):
        assert getattr(again, field) == getattr(model, field), field
    for field in ("geom_size", "body_mass", "actuator_ctrlrange", "actuator_gainprm", "qpos0", "jnt_range"):
        np.testing.assert_allclose(getattr(again, field), getattr(model, field), atol=1e-6, err_msg=field)
    assert again.opt.timestep == pytest.approx(model.opt.timestep)


def test_go1_bundle_has_its_meshes() -> None:
    files = scene_bundle("Go1JoystickFlatTerrain").files
    assert {"trunk.stl", "calf.stl"} <= set(files)
