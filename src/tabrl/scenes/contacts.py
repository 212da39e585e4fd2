"""Which robot geoms can touch the floor: the contact candidates both physics backends agree on.

The MuJoCo C backend reports `s.foot_contact` for robot geoms against floor *planes* (the distance
is computed from the geoms' poses as MJX's plane colliders do). Other world geoms (CartpoleBalance's
rails, a box as a step) still collide in the physics; they are not foot-contact candidates there.
Height-field terrain is refused for that backend (`mujoco_backend_support`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """(robot geom, floor plane) pairs that MuJoCo's contype/conaffinity filter lets collide."""

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
    return FloorPairs(
        robot=np.array([g for g, _ in pairs], np.int32),
        floor=np.array([p for _, p in pairs], np.int32),
        non_plane_floors=non_plane,
    )


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


__all__ = ["PLANE_COLLIDERS", "FloorPairs", "floor_geoms", "floor_pairs", "mujoco_backend_support"]
