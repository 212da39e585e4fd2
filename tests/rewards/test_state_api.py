"""The semantic API equals a NumPy recomputation from MuJoCo C data on random states."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mujoco import mjx

from tabrl.rewards.compiler import scene_context
from tabrl.rewards.state import SemanticState

TOL = dict(rtol=2e-4, atol=2e-4)


def _random_state(model: mujoco.MjModel, seed: int, floor_contact: bool) -> mujoco.MjData:
    rng = np.random.default_rng(seed)
    data = mujoco.MjData(model)
    data.qpos[:] = model.key_qpos[0] if model.nkey else model.qpos0
    for j in range(model.njnt):
        adr, dof = model.jnt_qposadr[j], model.jnt_dofadr[j]
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            data.qpos[adr : adr + 2] = rng.uniform(-1, 1, 2)
            # Near the standing height so that some feet touch the floor and some do not.
            data.qpos[adr + 2] += rng.uniform(-0.03, 0.05) if floor_contact else rng.uniform(0, 1)
            quat = np.array([1.0, 0, 0, 0]) + rng.normal(0, 0.15, 4)
            data.qpos[adr + 3 : adr + 7] = quat / np.linalg.norm(quat)
            data.qvel[dof : dof + 6] = rng.normal(0, 1, 6)
        elif model.jnt_type[j] in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
            lo, hi = model.jnt_range[j] if model.jnt_limited[j] else (-math.pi, math.pi)
            data.qpos[adr] = rng.uniform(lo, hi)
            data.qvel[dof] = rng.normal(0, 2)
    data.ctrl[:] = rng.uniform(-1, 1, model.nu)
    data.time = rng.uniform(0, 10)
    mujoco.mj_forward(model, data)
    return data


def _without_contacts(model: mujoco.MjModel) -> mujoco.MjModel:
    import copy

    out = copy.deepcopy(model)
    out.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
    return out


def _check_scene(scene: str, seed: int) -> None:
    ctx = scene_context(scene)
    model, index, card = ctx.model, ctx.index, ctx.card
    if not card.feet or not card.floating_base:
        # Random joint angles push these robots through the floor, making more C contacts
        # than MJX's fixed contact arrays hold; contacts are tested on Go1 instead.
        model = _without_contacts(model)
    data = _random_state(model, seed, floor_contact=card.floating_base)
    s = SemanticState(index, mjx.put_data(model, data, impl="jax"))
    res = np.zeros(6)
    for b in range(1, model.nbody):
        name = card.bodies[b].name
        np.testing.assert_allclose(s.body_pos(name), data.xpos[b], **TOL)
        np.testing.assert_allclose(s.body_quat(name), data.xquat[b], **TOL)
        np.testing.assert_allclose(s.body_height(name), data.xpos[b, 2] - index.floor_z, **TOL)
        np.testing.assert_allclose(s.body_upright(name), data.xmat[b].reshape(3, 3)[2, 2], **TOL)
        rot = data.xmat[b].reshape(3, 3)
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        if abs(abs(yaw) - math.pi) > 1e-3:  # the +-pi wrap is not a disagreement
            np.testing.assert_allclose(s.body_yaw(name), yaw, **TOL)
        for local in (0, 1):
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, b, res, local)
            np.testing.assert_allclose(s.body_angvel(name, local=bool(local)), res[:3], rtol=1e-3, atol=1e-3)
            np.testing.assert_allclose(s.body_linvel(name, local=bool(local)), res[3:], rtol=1e-3, atol=1e-3)
    for j, joint in enumerate(card.joints):
        if joint.type in ("hinge", "slide"):
            np.testing.assert_allclose(s.joint_angle(joint.name), data.qpos[model.jnt_qposadr[j]], **TOL)
            np.testing.assert_allclose(s.joint_vel(joint.name), data.qvel[model.jnt_dofadr[j]], **TOL)
    np.testing.assert_allclose(s.joint_angles(), data.qpos[index.pose_qposadr], **TOL)
    np.testing.assert_allclose(s.joint_vels(), data.qvel[index.pose_dofadr], **TOL)
    for i, act in enumerate(card.actuators):
        np.testing.assert_allclose(s.actuator_force(act.name), data.actuator_force[i], rtol=1e-3, atol=1e-3)
    root = index.body_ids[index.root_body]
    np.testing.assert_allclose(s.com(), data.subtree_com[root], **TOL)
    mujoco.mj_subtreeVel(model, data)
    np.testing.assert_allclose(s.com_vel(), data.subtree_linvel[root], rtol=1e-3, atol=1e-3)
    for sensor in card.sensors:
        np.testing.assert_allclose(
            s.sensor(sensor.name), data.sensordata[sensor.adr : sensor.adr + sensor.dim], rtol=1e-3, atol=1e-3
        )
    for foot in card.feet:
        g = index.geom_ids[foot]
        touching = any(
            data.contact.dist[k] < 0
            and {int(data.contact.geom1[k]), int(data.contact.geom2[k])} & {g}
            and model.geom_bodyid[
                data.contact.geom2[k] if data.contact.geom1[k] == g else data.contact.geom1[k]
            ]
            == 0
            for k in range(data.ncon)
        )
        assert float(s.foot_contact(foot)) == float(touching), foot
    np.testing.assert_allclose(s.phase(1.7), (data.time * 1.7) % 1.0, atol=1e-4)
    np.testing.assert_allclose(s.time, data.time, **TOL)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_api_matches_mujoco_c_cheetah(seed: int) -> None:
    _check_scene("CheetahRun", seed)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_api_matches_mujoco_c_cartpole_and_reacher(seed: int) -> None:
    _check_scene("CartpoleBalance", seed)
    _check_scene("ReacherEasy", seed)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_api_matches_mujoco_c_go1_with_contacts(seed: int) -> None:
    _check_scene("Go1JoystickFlatTerrain", seed)


def test_go1_feet_contacts_are_exercised() -> None:
    """The random Go1 states include both touching and airborne feet (the property test is not vacuous)."""
    ctx = scene_context("Go1JoystickFlatTerrain")
    seen = set()
    for seed in range(12):
        data = _random_state(ctx.model, seed, floor_contact=True)
        s = SemanticState(ctx.index, mjx.put_data(ctx.model, data, impl="jax"))
        seen.update(float(v) for v in np.asarray(s.feet_contact()))
    assert seen == {0.0, 1.0}


def test_unknown_names_list_the_closest() -> None:
    from tabrl.rewards.state import RewardAPIError

    ctx = scene_context("CheetahRun")
    s = SemanticState(ctx.index, ctx.template)
    with pytest.raises(RewardAPIError, match="closest body names: torso"):
        s.body_pos("torsoo")
    with pytest.raises(RewardAPIError, match=r"has no single angle|unknown joint"):
        s.joint_angle("nothing")
    with pytest.raises(RewardAPIError, match="as a string"):
        s.body_pos(3)  # type: ignore[arg-type]
