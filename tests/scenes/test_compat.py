"""The MuJoCo/Playground compatibility shim (`tabrl.scenes.compat`)."""

from __future__ import annotations

import mujoco
import pytest

from tabrl.scenes import compat, load_scene

_XML = '<mujoco><worldbody><body name="target"><geom size=".1"/></body></worldbody></mujoco>'


def test_find_body_forwards_to_body() -> None:
    compat.apply()
    compat.apply()  # idempotent
    spec = mujoco.MjSpec.from_string(_XML)
    assert spec.find_body("target").name == spec.body("target").name == "target"
    assert spec.find_body("missing") is None


@pytest.mark.parametrize(("scene_id", "target_size"), [("ReacherEasy", 0.05), ("ReacherHard", 0.015)])
def test_reacher_tasks_load(scene_id: str, target_size: float) -> None:
    # Playground 0.2.0 calls MjSpec.find_body here on MuJoCo 3.10+ (see tabrl.scenes.compat).
    scene = load_scene(scene_id)
    target = scene.mj_model.body("target")
    geom = scene.mj_model.geom(int(target.geomadr[0]))
    assert geom.size[0] == pytest.approx(target_size)
