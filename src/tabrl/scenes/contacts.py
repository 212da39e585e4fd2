"""Which robot geoms can touch the floor: the contact candidates both physics backends agree on.

The MuJoCo C backend reports `s.foot_contact` for robot geoms against floor *planes* (the distance
is computed from the geoms' poses as MJX's plane colliders do). Other world geoms (CartpoleBalance's
rails, a box as a step) still collide in the physics; they are not foot-contact candidates there.
Height-field terrain is refused for that backend (`mujoco_backend_support`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

_G = mujoco.mjtGeom
#: Robot geom shapes whose distance to a plane the MuJoCo C backend computes as MJX does.
PLANE_COLLIDERS = frozenset(
    int(k) for k in (_G.mjGEOM_SPHERE, _G.mjGEOM_CAPSULE, _G.mjGEOM_CYLINDER, _G.mjGEOM_BOX,
                     _G.mjGEOM_ELLIPSOID, _G.mjGEOM_MESH)
)  # fmt: skip


@dataclass(frozen=True)
class FloorPairs:
    """(robot geom, floor plane) pairs that collide: MuJoCo's contype/conaffinity filter or an explicit pair."""

    robot: np.ndarray
    floor: np.ndarray
    #: Names of height-field terrain geoms the robot can touch.
    non_plane_floors: tuple[str, ...]


def floor_geoms(model: mujoco.MjModel) -> np.ndarray:
    """Geoms attached to the world body: what "the floor" means for contacts."""
    return np.array([g for g in range(model.ngeom) if model.geom_bodyid[g] == 0], dtype=np.int32)


def floor_pairs(model: mujoco.MjModel) -> FloorPairs:
    """Every robot-geom x floor-plane pair that can collide."""
    kinds = [int(t) for t in model.geom_type]
    world = floor_geoms(model)
    planes = [int(g) for g in world if kinds[g] == _G.mjGEOM_PLANE]
    robot = [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0]

    def collide(a: int, b: int) -> bool:
        con, aff = model.geom_contype, model.geom_conaffinity
        return bool(con[a] & aff[b] or con[b] & aff[a])

    # Terrain: a height field the robot can touch (its contacts are not plane distances).
    non_plane = tuple(
        mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, int(w)) or f"geom{int(w)}"
        for w in world
        if kinds[w] == _G.mjGEOM_HFIELD and any(collide(g, int(w)) for g in robot)
    )
    pairs = [(g, p) for p in planes for g in robot if kinds[g] in PLANE_COLLIDERS and collide(g, p)]
    # Explicit <contact><pair>s collide whatever the filter says: Playground's G1 and Apollo give their
    # feet contype 0 and pair each foot with the floor (without these the plan had no feet at all).
    robot_set, plane_set = set(robot), set(planes)
    for a, b in zip(model.pair_geom1, model.pair_geom2, strict=True):
        g, p = (int(a), int(b)) if int(b) in plane_set else (int(b), int(a))
        if p in plane_set and g in robot_set and kinds[g] in PLANE_COLLIDERS and (g, p) not in pairs:
            pairs.append((g, p))
    return FloorPairs(
        robot=np.array([g for g, _ in pairs], np.int32),
        floor=np.array([p for _, p in pairs], np.int32),
        non_plane_floors=non_plane,
    )


@dataclass(frozen=True)
class ContactPlan:
    """Robot geom x floor plane pairs whose distance `HostData.contact` carries."""

    robot: np.ndarray
    floor: np.ndarray
    kind: np.ndarray
    size: np.ndarray
    #: Mesh vertices per pair in the geom frame (padded by repeating the first vertex).
    verts: np.ndarray
    #: Geoms whose orientation the distances need (robot geoms then floor planes), unique.
    geoms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @classmethod
    def build(cls, model: mujoco.MjModel) -> ContactPlan:
        """Every (robot geom, floor plane) pair MuJoCo's collision filter lets through."""
        pairs = floor_pairs(model)
        robot, floor = pairs.robot, pairs.floor
        verts_list = []
        for g in robot:
            if int(model.geom_type[g]) == _G.mjGEOM_MESH:
                m = model.geom_dataid[g]
                adr, n = model.mesh_vertadr[m], model.mesh_vertnum[m]
                verts_list.append(np.array(model.mesh_vert[adr : adr + n], np.float32))
            else:
                verts_list.append(np.zeros((1, 3), np.float32))
        width = max((len(v) for v in verts_list), default=1)
        padded = [np.concatenate([v, np.repeat(v[:1], width - len(v), 0)]) for v in verts_list]
        return cls(
            robot=robot,
            floor=floor,
            kind=np.array([int(model.geom_type[g]) for g in robot], np.int32),
            size=np.array([model.geom_size[g] for g in robot], np.float32).reshape(-1, 3),
            verts=np.stack(padded) if padded else np.zeros((0, 1, 3), np.float32),
            geoms=np.unique(np.concatenate([robot, floor])).astype(np.int32),
        )

    def distances(self, geom_xpos: Any, geom_xmat: Any, xp: Any = np) -> Any:
        """Signed distance of each pair (negative: penetrating), as MJX's plane colliders compute it.

        `geom_xpos` (ngeom, 3) holds every geom; `geom_xmat` (len(self.geoms), 3, 3) only `self.geoms`.
        `xp` is the array module: numpy, or jax.numpy inside jitted code.
        """
        jnp = xp
        if self.robot.size == 0:
            return jnp.zeros((0,))
        slot = {int(g): i for i, g in enumerate(self.geoms)}
        rot = geom_xmat[np.array([slot[int(g)] for g in self.robot])]
        normal = geom_xmat[np.array([slot[int(p)] for p in self.floor]), :, 2]
        height = jnp.sum((geom_xpos[self.robot] - geom_xpos[self.floor]) * normal, axis=-1)
        # Components of the plane normal along the geom's own axes.
        along = jnp.einsum("pij,pi->pj", rot, normal)
        r, h = self.size[:, 0], self.size[:, 1]
        axial = jnp.abs(along[:, 2])
        extent = {
            int(_G.mjGEOM_SPHERE): r,
            int(_G.mjGEOM_CAPSULE): axial * h + r,
            int(_G.mjGEOM_CYLINDER): axial * h + r * jnp.sqrt(jnp.maximum(1.0 - axial**2, 0.0)),
            int(_G.mjGEOM_BOX): jnp.sum(jnp.abs(along) * self.size, axis=-1),
            int(_G.mjGEOM_ELLIPSOID): jnp.sqrt(jnp.sum((along * self.size) ** 2, axis=-1)),
            # Deepest vertex: -min over vertices of (R v) . n = -min(v . along).
            int(_G.mjGEOM_MESH): -jnp.min(jnp.einsum("pvj,pj->pv", self.verts, along), axis=-1),
        }
        out = jnp.zeros_like(height)
        for kind, value in extent.items():
            out = jnp.where(self.kind == kind, height - value, out)
        return out


def reference_floor_gap(model: mujoco.MjModel, qpos: np.ndarray) -> float:
    """The smallest distance between a robot geom and a floor plane in pose `qpos` (inf: no pairs)."""
    plan = ContactPlan.build(model)
    if plan.robot.size == 0:
        return float("inf")
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    xmat = data.geom_xmat[plan.geoms].reshape(-1, 3, 3)
    return float(np.min(plan.distances(np.asarray(data.geom_xpos), xmat)))


def mujoco_backend_support(model: mujoco.MjModel) -> str | None:
    """Why the MuJoCo C backend cannot train this model with TabRL's conventions (None: it can)."""
    pairs = floor_pairs(model)
    if pairs.non_plane_floors:
        return (
            f"its terrain {', '.join(pairs.non_plane_floors)} is a height field, and the MuJoCo C "
            "backend reads foot contacts with floor planes only; use the mjx backend"
        )
    if model.opt.enableflags & mujoco.mjtEnableBit.mjENBL_SLEEP:
        return "it enables sleeping bodies, which batched MuJoCo C does not simulate; use the mjx backend"
    return None


__all__ = [
    "PLANE_COLLIDERS",
    "ContactPlan",
    "FloorPairs",
    "floor_geoms",
    "floor_pairs",
    "mujoco_backend_support",
    "reference_floor_gap",
]
