"""Left-right mirror symmetry of a floating-base robot, for a symmetry loss in PPO.

A robot built symmetric about its base's x-z plane can do mirrored what it can do: turning
clockwise is turning counter-clockwise in a mirror. PPO does not know that, and a policy can
learn one side only (the Go1 joystick base learned to turn counter-clockwise at 0.6 rad/s and
hardly clockwise). The mirror loss of Yu, Turk and Liu (2018), "Learning Symmetric and Low-Energy
Locomotion", asks the policy's mean action for a mirrored observation to be the mirrored mean
action, so what is learned on one side is learned on the other.

`mirror_maps` derives both mirrors from the model: joints are paired by geometry (a joint's
anchor mirrored across the base's x-z plane at the reference pose is its partner's anchor) and
a joint angle keeps or flips its sign by how its axis reflects (an axis is a pseudo-vector:
mirrored, (x, y, z) -> (-x, y, -z)). Observation segments transform by what they are (see
`_SEGMENT_SIGNS`). A scene that is not mirror-symmetric is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from tabrl.errors import TabRLError

#: Sign of each component of a vector segment under the mirror y -> -y, expressed in the base frame:
#: velocities and gravity are vectors (y flips), angular velocity a pseudo-vector (x and z flip),
#: the command (forward m/s, sideways m/s, yaw rad/s) a sideways speed and a yaw rate (both flip).
_SEGMENT_SIGNS: dict[str, tuple[float, ...]] = {
    "base_height": (1.0,),
    "gravity_local": (1.0, -1.0, 1.0),
    "base_linvel_local": (1.0, -1.0, 1.0),
    "base_angvel_local": (-1.0, 1.0, -1.0),
    "command": (1.0, -1.0, -1.0),
}
#: A mirrored anchor within this distance (m) of a joint's anchor pairs them.
_PAIR_TOLERANCE = 5e-3


@dataclass(frozen=True)
class MirrorMaps:
    """`mirrored[i] = sign[i] * x[perm[i]]`, for observations and for actions."""

    obs_perm: np.ndarray
    obs_sign: np.ndarray
    act_perm: np.ndarray
    act_sign: np.ndarray

    def mirror_obs(self, obs: Any) -> Any:
        """Observations (..., obs_size) seen in the mirror (NumPy or JAX arrays)."""
        return obs[..., self.obs_perm] * self.obs_sign

    def mirror_action(self, action: Any) -> Any:
        """Actions (..., action_size) done in the mirror."""
        return action[..., self.act_perm] * self.act_sign


def mirror_maps(conventions: Any) -> MirrorMaps:
    """The mirrors of a MuJoCo C env's observation and action (`HostSceneEnv.conventions`).

    Raises TabRLError when the robot is not a floating base, not symmetric, or an observation
    segment has no known mirror.
    """
    model: mujoco.MjModel = conventions.model
    if not conventions.index.floating_base:
        raise TabRLError("symmetry_cost needs a floating-base robot (a legged robot); set symmetry_cost=0")
    joint_perm, joint_sign = _joint_mirror(model, conventions.qpos0)
    act_perm, act_sign = _actuator_mirror(model, joint_perm, joint_sign)
    _check_controls(conventions, act_perm, act_sign)
    perm: list[np.ndarray] = []
    sign: list[np.ndarray] = []
    start = 0
    for seg in conventions.layout:
        if seg.name in _SEGMENT_SIGNS:
            p, s = np.arange(seg.size), np.asarray(_SEGMENT_SIGNS[seg.name])
        elif seg.name in ("joint_pos", "joint_vel"):
            p, s = joint_perm, joint_sign
        elif seg.name == "last_action":
            p, s = act_perm, act_sign
        else:
            raise TabRLError(
                f"symmetry_cost: no mirror for observation segment {seg.name!r}; set symmetry_cost=0"
            )
        if len(p) != seg.size:
            raise TabRLError(
                f"symmetry_cost: segment {seg.name!r} has {seg.size} values, its mirror {len(p)}"
            )
        perm.append(start + p)
        sign.append(s)
        start += seg.size
    return MirrorMaps(
        obs_perm=np.concatenate(perm).astype(np.int32),
        obs_sign=np.concatenate(sign).astype(np.float32),
        act_perm=act_perm.astype(np.int32),
        act_sign=act_sign.astype(np.float32),
    )


def _joint_mirror(model: mujoco.MjModel, qpos0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Partner and sign of every joint after the free joint, in qpos[7:] order (one value each)."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos0
    mujoco.mj_forward(model, data)
    root = int(model.jnt_bodyid[0])
    rot, origin = data.xmat[root].reshape(3, 3), data.xpos[root]
    joints = [j for j in range(1, model.njnt)]
    if any(
        int(model.jnt_type[j]) not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE)
        for j in joints
    ):
        raise TabRLError("symmetry_cost: only hinge and slide joints after the free joint are supported")
    # Anchors and axes in the base frame at the reference pose.
    anchors = np.array([rot.T @ (data.xanchor[j] - origin) for j in joints])
    axes = np.array([rot.T @ data.xaxis[j] for j in joints])
    perm = np.zeros(len(joints), dtype=np.int64)
    sign = np.zeros(len(joints), dtype=np.float32)
    for i, j in enumerate(joints):
        mirrored = anchors[i] * np.array([1.0, -1.0, 1.0])
        dist = np.linalg.norm(anchors - mirrored, axis=1)
        hinge = int(model.jnt_type[j]) == mujoco.mjtJoint.mjJNT_HINGE
        # Rotation axes are pseudo-vectors; slide directions are plain vectors.
        axis = axes[i] * (np.array([-1.0, 1.0, -1.0]) if hinge else np.array([1.0, -1.0, 1.0]))
        dots = axes @ axis
        ok = (dist < _PAIR_TOLERANCE) & (np.abs(dots) > 0.99) & (model.jnt_type[joints] == model.jnt_type[j])
        if not ok.any():
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
            raise TabRLError(
                f"symmetry_cost: joint {name!r} has no mirror image (the robot is not left-right symmetric "
                "about its base); set symmetry_cost=0"
            )
        k = int(np.flatnonzero(ok)[np.argmin(dist[ok])])
        perm[i], sign[i] = k, np.sign(dots[k])
    return perm, sign


def _actuator_mirror(
    model: mujoco.MjModel, joint_perm: np.ndarray, joint_sign: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Partner and sign of every actuator, through the joint it drives."""
    by_joint: dict[int, int] = {}
    for a in range(model.nu):
        if int(model.actuator_trntype[a]) != mujoco.mjtTrn.mjTRN_JOINT:
            raise TabRLError("symmetry_cost: only joint actuators are supported; set symmetry_cost=0")
        by_joint[int(model.actuator_trnid[a, 0]) - 1] = a  # joint index after the free joint
    perm = np.zeros(model.nu, dtype=np.int64)
    sign = np.zeros(model.nu, dtype=np.float32)
    for a in range(model.nu):
        j = int(model.actuator_trnid[a, 0]) - 1
        partner = by_joint.get(int(joint_perm[j]))
        if partner is None:
            raise TabRLError("symmetry_cost: an actuated joint's mirror has no actuator; set symmetry_cost=0")
        perm[a], sign[a] = partner, joint_sign[j]
    return perm, sign


def _check_controls(conventions: Any, act_perm: np.ndarray, act_sign: np.ndarray) -> None:
    """A mirrored action must be the mirrored control: centres mirror and half-ranges match."""
    center, half = np.asarray(conventions.ctrl_center), np.asarray(conventions.ctrl_half)
    if not (
        np.allclose(center[act_perm] * act_sign, center, atol=1e-4)
        and np.allclose(half[act_perm], half, atol=1e-4)
    ):
        raise TabRLError(
            "symmetry_cost: the reference pose is not left-right symmetric (its mirrored joint targets differ); "
            "set symmetry_cost=0"
        )


__all__ = ["MirrorMaps", "mirror_maps"]
