"""The semantic state `s` that reward code reads: named, jit-traceable views of `mjx.Data`.

`SceneIndex` is built once per scene from the MuJoCo model and the robot card: it maps
every body / joint / geom / actuator / sensor / site name to its index. `SemanticState`
binds an index to one `mjx.Data` (plus the previous action and the task's own reward)
and answers questions like `s.body_height("trunk")`. Names are plain Python strings, so
they are resolved while JAX traces the reward -- i.e. once, at compile time; an unknown
name raises `RewardAPIError` listing the closest valid names.

Conventions (the same as MuJoCo's): positions in metres in the world frame (z up),
quaternions w-x-y-z, `body_pos` is the body frame's origin (`xpos`), velocities are
those of that origin; `local=True` expresses a vector in the body's own frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import mujoco
import numpy as np
from jax import Array

from tabrl.errors import closest
from tabrl.scenes.cards import RobotCard, reference_qpos

__all__ = ["STATE_API", "RewardAPIError", "SceneIndex", "SemanticState", "contacts", "reference_qpos"]


class RewardAPIError(ValueError):
    """Reward code used the semantic API wrongly (unknown name, wrong argument type...)."""


@dataclass(frozen=True)
class SceneIndex:
    """Static name -> index tables of one scene (numpy only; closed over by jitted code)."""

    scene_id: str
    body_ids: dict[str, int]
    joint_ids: dict[str, int]
    geom_ids: dict[str, int]
    actuator_ids: dict[str, int]
    site_ids: dict[str, int]
    sensors: dict[str, tuple[int, int]]
    joint_types: tuple[str, ...]
    jnt_qposadr: np.ndarray
    jnt_dofadr: np.ndarray
    root_body: str
    floating_base: bool
    floor_z: float
    #: Geoms attached to the world body: what "the floor" means for contacts.
    floor_geoms: np.ndarray
    geom_bodyid: np.ndarray
    body_rootid: np.ndarray
    body_mass: np.ndarray
    #: Bodies in the robot's subtree (the root body and its descendants).
    robot_bodies: np.ndarray
    #: The joints `joint_angles()` covers: actuated hinge/slide joints in actuator order.
    pose_joints: tuple[str, ...]
    pose_qposadr: np.ndarray
    pose_dofadr: np.ndarray
    default_pose: np.ndarray
    feet: tuple[str, ...]
    nu: int
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, model: mujoco.MjModel, card: RobotCard) -> SceneIndex:
        """Index a scene; names are the card's (unnamed elements get stand-ins like `geom7`)."""
        body_ids = {b.name: i for i, b in enumerate(card.bodies)}
        joint_ids = {j.name: i for i, j in enumerate(card.joints)}
        root = body_ids.get(card.root_body, 0)
        parents = model.body_parentid
        in_robot = [b for b in range(model.nbody) if _descends_from(b, root, parents)]
        pose_joints: list[str] = []
        for act in card.actuators:
            joint = card.joints[joint_ids[act.target]] if act.target in joint_ids else None
            if (
                act.target_type in ("joint", "joint_in_parent")
                and joint is not None
                and joint.type in ("hinge", "slide")
                and joint.name not in pose_joints
            ):
                pose_joints.append(joint.name)
        if not pose_joints:  # e.g. tendon-driven robots: every hinge/slide joint
            pose_joints = [j.name for j in card.joints if j.type in ("hinge", "slide")]
        qadr = np.array([card.joints[joint_ids[n]].qpos_adr for n in pose_joints], dtype=np.int32)
        dadr = np.array([card.joints[joint_ids[n]].qvel_adr for n in pose_joints], dtype=np.int32)
        ref_qpos = reference_qpos(model)
        floor = np.array([g for g in range(model.ngeom) if model.geom_bodyid[g] == 0], dtype=np.int32)
        planes = [g for g in floor if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
        return cls(
            scene_id=card.id,
            body_ids=body_ids,
            joint_ids=joint_ids,
            geom_ids={g: i for i, g in enumerate(card.geoms)},
            actuator_ids={a.name: i for i, a in enumerate(card.actuators)},
            site_ids={s.name: i for i, s in enumerate(card.sites)},
            sensors={s.name: (s.adr, s.dim) for s in card.sensors},
            joint_types=tuple(j.type for j in card.joints),
            jnt_qposadr=np.array([j.qpos_adr for j in card.joints], dtype=np.int32),
            jnt_dofadr=np.array([j.qvel_adr for j in card.joints], dtype=np.int32),
            root_body=card.bodies[root].name,
            floating_base=card.floating_base,
            floor_z=float(model.geom_pos[planes[0], 2]) if planes else 0.0,
            floor_geoms=floor,
            geom_bodyid=np.array(model.geom_bodyid, dtype=np.int32),
            body_rootid=np.array(model.body_rootid, dtype=np.int32),
            body_mass=np.array(model.body_mass, dtype=np.float32),
            robot_bodies=np.array(in_robot, dtype=np.int32),
            pose_joints=tuple(pose_joints),
            pose_qposadr=qadr,
            pose_dofadr=dadr,
            default_pose=ref_qpos[qadr].astype(np.float32),
            feet=card.feet,
            nu=card.nu,
        )

    # --- name resolution (runs while tracing: compile time) -----------------------------

    def _lookup(self, table: dict[str, Any], name: object, kind: str, method: str) -> Any:
        if not isinstance(name, str):
            raise RewardAPIError(
                f"s.{method}() takes the {kind}'s name as a string, e.g. s.{method}({next(iter(table), 'name')!r}); "
                f"got {type(name).__name__}"
            )
        if name in table:
            return table[name]
        near = closest(name, table) or list(table)[:8]
        raise RewardAPIError(
            f"unknown {kind} {name!r} in scene {self.scene_id}; "
            f"closest {kind} names: {', '.join(near) if near else '(this scene has none)'}"
        )

    def body(self, name: object, method: str) -> int:
        """Body id of `name`."""
        return int(self._lookup(self.body_ids, name, "body", method))

    def joint(self, name: object, method: str) -> int:
        """Joint id of a hinge/slide joint `name` (free and ball joints have no single angle)."""
        jid = int(self._lookup(self.joint_ids, name, "joint", method))
        if self.joint_types[jid] not in ("hinge", "slide"):
            raise RewardAPIError(
                f"joint {name!r} is a {self.joint_types[jid]} joint and has no single angle; "
                f"read its body with s.body_pos / s.body_quat / s.body_linvel instead"
            )
        return jid

    def contact_geoms(self, name: object, method: str) -> np.ndarray:
        """Geoms of a geom name or of every geom of a body name."""
        if isinstance(name, str) and name in self.geom_ids:
            return np.array([self.geom_ids[name]], dtype=np.int32)
        if isinstance(name, str) and name in self.body_ids:
            geoms = np.flatnonzero(self.geom_bodyid == self.body_ids[name]).astype(np.int32)
            if geoms.size:
                return geoms
            raise RewardAPIError(f"body {name!r} has no geoms, so it cannot touch anything; use a geom name")
        return np.array([self._lookup({**self.geom_ids, **self.body_ids}, name, "geom or body", method)])


def _descends_from(body: int, root: int, parents: np.ndarray) -> bool:
    while True:
        if body == root:
            return True
        if body == 0:
            return False
        body = int(parents[body])


def contacts(data: Any) -> tuple[Any, Any, Array]:
    """(geom1, geom2, dist) of the contact candidates in `data`.

    MJX's JAX implementation keeps its fixed-size candidate list in `data._impl.contact` (this is
    the one place TabRL reads that private field: MJX exposes no public accessor for it). The MuJoCo
    C backend's `HostData` carries the same three arrays in `data.contact`, computed for the
    robot-floor candidate pairs (`tabrl.rewards.host_env`).
    """
    c = data._impl.contact if hasattr(data, "_impl") else data.contact
    return c.geom1, c.geom2, c.dist


def _rotate_to_local(xmat: Array, vec: Array) -> Array:
    # xmat's columns are the body axes in world coordinates, so R^T v is v in the body frame.
    return xmat.T @ vec


#: The public API of `s`: also the attribute allow-list of the sandbox.
STATE_API = (
    "base",
    "body_pos",
    "body_quat",
    "body_height",
    "body_upright",
    "body_yaw",
    "body_linvel",
    "body_angvel",
    "joint_angle",
    "joint_vel",
    "joint_angles",
    "joint_vels",
    "actuator_force",
    "actuator_forces",
    "foot_contact",
    "feet_contact",
    "com",
    "com_vel",
    "sensor",
    "site_pos",
    "geom_pos",
    "time",
    "phase",
    "prev_action",
    "task_reward",
    "default_pose",
    "command",
)


class SemanticState:
    """What reward code sees as `s`. See `reward_api.md` (this package) for the user-facing reference."""

    __slots__ = ("_command", "_data", "_index", "_prev_action", "_task_reward")

    def __init__(
        self,
        index: SceneIndex,
        data: Any,
        prev_action: Any = None,
        task_reward: Any = None,
        command: Any = None,
    ) -> None:
        self._index = index
        self._data = data
        self._prev_action = jnp.zeros(index.nu) if prev_action is None else jnp.asarray(prev_action)
        self._task_reward = jnp.zeros(()) if task_reward is None else jnp.asarray(task_reward)
        self._command = jnp.zeros(3) if command is None else jnp.asarray(command)

    # --- bodies ------------------------------------------------------------------------

    @property
    def base(self) -> str:
        """Name of the robot's root body (the floating base, or the first body)."""
        return self._index.root_body

    def body_pos(self, name: str) -> Array:
        """(3,) world position of the body frame's origin."""
        return self._data.xpos[self._index.body(name, "body_pos")]

    def body_quat(self, name: str) -> Array:
        """(4,) world orientation, w-x-y-z."""
        return self._data.xquat[self._index.body(name, "body_quat")]

    def body_height(self, name: str) -> Array:
        """Height of the body frame's origin above the floor (m)."""
        return self._data.xpos[self._index.body(name, "body_height"), 2] - self._index.floor_z

    def body_upright(self, name: str) -> Array:
        """Body z-axis · world up, in [-1, 1]: 1 upright, 0 on its side, -1 upside down."""
        return self._data.xmat[self._index.body(name, "body_upright"), 2, 2]

    def body_yaw(self, name: str) -> Array:
        """Heading of the body's x-axis around world z (rad, in (-pi, pi])."""
        m = self._data.xmat[self._index.body(name, "body_yaw")]
        return jnp.arctan2(m[1, 0], m[0, 0])

    def _spatial(self, b: int) -> tuple[Array, Array]:
        # cvel is [angular, linear] with the linear part taken at the subtree CoM of the
        # body's kinematic tree root; shift it to the body frame's origin.
        d = self._data
        ang, lin = d.cvel[b, :3], d.cvel[b, 3:]
        offset = d.xpos[b] - d.subtree_com[int(self._index.body_rootid[b])]
        return ang, lin + jnp.cross(ang, offset)

    def body_linvel(self, name: str, local: bool = False) -> Array:
        """(3,) linear velocity of the body frame's origin (world frame, or body frame if local)."""
        b = self._index.body(name, "body_linvel")
        _, lin = self._spatial(b)
        return _rotate_to_local(self._data.xmat[b], lin) if local else lin

    def body_angvel(self, name: str, local: bool = False) -> Array:
        """(3,) angular velocity (rad/s; world frame, or body frame if local)."""
        b = self._index.body(name, "body_angvel")
        ang, _ = self._spatial(b)
        return _rotate_to_local(self._data.xmat[b], ang) if local else ang

    # --- joints and actuators -------------------------------------------------------------

    def joint_angle(self, name: str) -> Array:
        """Position of a hinge (rad) or slide (m) joint."""
        return self._data.qpos[int(self._index.jnt_qposadr[self._index.joint(name, "joint_angle")])]

    def joint_vel(self, name: str) -> Array:
        """Velocity of a hinge (rad/s) or slide (m/s) joint."""
        return self._data.qvel[int(self._index.jnt_dofadr[self._index.joint(name, "joint_vel")])]

    def joint_angles(self) -> Array:
        """(n,) angles of the actuated hinge/slide joints, in actuator order."""
        return self._data.qpos[self._index.pose_qposadr]

    def joint_vels(self) -> Array:
        """(n,) velocities of the same joints as `joint_angles()`."""
        return self._data.qvel[self._index.pose_dofadr]

    @property
    def default_pose(self) -> Array:
        """(n,) reference joint angles (keyframe "home" or qpos0), same order as joint_angles()."""
        return jnp.asarray(self._index.default_pose)

    def actuator_force(self, name: str) -> Array:
        """Force (N) or torque (Nm) an actuator applies."""
        return self._data.actuator_force[
            int(self._index._lookup(self._index.actuator_ids, name, "actuator", "actuator_force"))
        ]

    def actuator_forces(self) -> Array:
        """(nu,) all actuator forces, in actuator order."""
        return self._data.actuator_force

    # --- contacts ------------------------------------------------------------------------

    def foot_contact(self, name: str) -> Array:
        """1.0 if the geom (or any geom of the body) `name` touches the floor, else 0.0."""
        geoms = self._index.contact_geoms(name, "foot_contact")
        return self._touching(geoms)

    def feet_contact(self) -> Array:
        """(n_feet,) foot_contact of each of the robot's feet (the card's `feet`; empty if none)."""
        if not self._index.feet:
            return jnp.zeros((0,))
        return jnp.stack([self.foot_contact(f) for f in self._index.feet])

    def _touching(self, geoms: np.ndarray) -> Array:
        g1, g2, dist = contacts(self._data)
        if len(g1) == 0 or self._index.floor_geoms.size == 0:
            return jnp.zeros(())
        mine1 = jnp.any(g1[:, None] == geoms[None, :], axis=1)
        mine2 = jnp.any(g2[:, None] == geoms[None, :], axis=1)
        floor1 = jnp.any(g1[:, None] == self._index.floor_geoms[None, :], axis=1)
        floor2 = jnp.any(g2[:, None] == self._index.floor_geoms[None, :], axis=1)
        hit = ((mine1 & floor2) | (mine2 & floor1)) & (dist < 0)
        return jnp.any(hit).astype(jnp.float32)

    # --- whole robot -----------------------------------------------------------------------

    def com(self) -> Array:
        """(3,) centre of mass of the robot (root body and everything attached to it)."""
        return self._data.subtree_com[self._index.body_ids[self._index.root_body]]

    def com_vel(self) -> Array:
        """(3,) linear velocity of the robot's centre of mass (world frame)."""
        d, idx = self._data, self._index
        bodies = idx.robot_bodies
        ang, lin = d.cvel[bodies, :3], d.cvel[bodies, 3:]
        offset = d.xipos[bodies] - d.subtree_com[idx.body_rootid[bodies]]
        vel = lin + jnp.cross(ang, offset)
        mass = jnp.asarray(idx.body_mass[bodies])
        return (mass[:, None] * vel).sum(axis=0) / jnp.maximum(mass.sum(), 1e-9)

    def sensor(self, name: str) -> Array:
        """(dim,) reading of a named sensor."""
        adr, dim = self._index._lookup(self._index.sensors, name, "sensor", "sensor")
        return self._data.sensordata[adr : adr + dim]

    def site_pos(self, name: str) -> Array:
        """(3,) world position of a site."""
        return self._data.site_xpos[int(self._index._lookup(self._index.site_ids, name, "site", "site_pos"))]

    def geom_pos(self, name: str) -> Array:
        """(3,) world position of a geom's centre."""
        return self._data.geom_xpos[int(self._index._lookup(self._index.geom_ids, name, "geom", "geom_pos"))]

    # --- time and history ------------------------------------------------------------------

    @property
    def time(self) -> Array:
        """Seconds since the episode started."""
        return self._data.time

    def phase(self, freq_hz: float) -> Array:
        """Phase in [0, 1) of a clock at `freq_hz` started with the episode (for rhythms)."""
        return jnp.mod(self._data.time * freq_hz, 1.0)

    @property
    def prev_action(self) -> Array:
        """(nu,) the action of the previous control step (zeros at the first step)."""
        return self._prev_action

    @property
    def task_reward(self) -> Array:
        """The Playground task's own reward this step (0 for Menagerie / MJCF scenes)."""
        return self._task_reward

    @property
    def command(self) -> Array:
        """(3,) the velocity command the robot is asked to follow: forward m/s, sideways m/s (left
        positive), yaw rate rad/s (counter-clockwise positive). Zeros unless the run trains or plays
        a command-following (joystick) policy."""
        return self._command


def ordered_names(names: Sequence[str]) -> str:
    """'a, b, c' for messages."""
    return ", ".join(names)
