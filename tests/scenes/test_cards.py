"""Robot cards agree with MuJoCo's own model fields."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from tabrl.scenes import load_scene, robot_card
from tabrl.scenes.cards import RobotCard, build_card, default_observation


@pytest.fixture(scope="module")
def go1():
    scene = load_scene("Go1JoystickFlatTerrain")
    return scene, build_card(scene)


def _names(model: mujoco.MjModel, obj: mujoco.mjtObj, n: int) -> list[str]:
    return [mujoco.mj_id2name(model, obj, i) for i in range(n)]


def test_go1_card_matches_model(go1) -> None:
    scene, card = go1
    m = scene.mj_model
    assert (card.nq, card.nv, card.nu) == (m.nq, m.nv, m.nu) == (19, 18, 12)
    assert card.floating_base and card.root_body == "trunk"
    assert card.action_size == 12 and card.obs_size == 48
    assert [a.name for a in card.actuators] == _names(m, mujoco.mjtObj.mjOBJ_ACTUATOR, m.nu)
    for i, act in enumerate(card.actuators):
        assert act.type == "position"
        np.testing.assert_allclose(act.ctrl_range, m.actuator_ctrlrange[i], rtol=1e-7)
        assert act.target == mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, m.actuator_trnid[i, 0])
    for j, joint in enumerate(card.joints):
        assert joint.qpos_adr == m.jnt_qposadr[j] and joint.qvel_adr == m.jnt_dofadr[j]
        if joint.range is not None:
            np.testing.assert_allclose(joint.range, m.jnt_range[j], rtol=1e-7)
    assert [b.name for b in card.bodies] == _names(m, mujoco.mjtObj.mjOBJ_BODY, m.nbody)
    np.testing.assert_allclose([b.mass for b in card.bodies], m.body_mass)
    assert card.bodies[2].parent == card.bodies[int(m.body_parentid[2])].name
    assert [s.dim for s in card.sensors] == m.sensor_dim.tolist()
    assert set(card.feet) == {"FR", "FL", "RR", "RL"}
    assert card.sim_dt == pytest.approx(0.004) and card.ctrl_dt == pytest.approx(0.02)
    assert card.category == "locomotion" and card.source == "playground"


def test_card_json_round_trip(go1) -> None:
    _, card = go1
    again = RobotCard.from_dict(card.to_dict())
    assert again == card


def test_cartpole_card() -> None:
    card = robot_card("CartpoleBalance")
    assert (card.nq, card.nv, card.nu, card.obs_size, card.action_size) == (2, 2, 1, 5, 1)
    assert not card.floating_base and card.feet == ()
    assert card.actuators[0].type == "motor" and card.actuators[0].target == "slider"
    assert card.category == "classic_control"
    assert card.sim_dt == pytest.approx(0.01) and card.ctrl_dt == pytest.approx(0.01)


def test_menagerie_go1_default_observation() -> None:
    scene = load_scene("unitree_go1")
    card = build_card(scene)
    assert card.source == "menagerie" and card.nu == 12
    assert (
        card.obs_size
        == sum(s.size for s in default_observation(scene.mj_model))
        == 1 + 3 + 12 + 3 + 3 + 12 + 12
    )
    assert card.ctrl_dt == pytest.approx(0.02) and scene.n_substeps == round(0.02 / card.sim_dt)
    assert set(card.feet) == {"FR", "FL", "RR", "RL"}
    assert "home" in card.keyframes


def test_card_cache_is_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TABRL_CACHE_DIR", str(tmp_path))
    first = robot_card("PendulumSwingup")
    files = list((tmp_path / "cards").glob("PendulumSwingup-*.json"))
    assert len(files) == 1
    # A cached card must not need the model: break loading and read it again.
    monkeypatch.setattr("tabrl.scenes.cards.load_scene", lambda *_: pytest.fail("card not cached"))
    assert robot_card("PendulumSwingup") == first
    # A scene already loaded reads the same cache (building a Playground card traces a reset: seconds).
    monkeypatch.setattr("tabrl.scenes.cards.build_card", lambda *_: pytest.fail("card rebuilt"))
    assert robot_card(load_scene("PendulumSwingup")) == first
