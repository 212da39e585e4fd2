"""Robot cards: the single description of a scene that prompts, compiler and UI read.

A card is derived from the compiled `MjModel` (names, addresses and ranges are MuJoCo's
own fields) plus the task's observation / action sizes and timesteps. Cards are cached
as JSON, keyed by the versions and files that produced them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from tabrl import __version__
from tabrl.atomic import cached_json
from tabrl.paths import cache_dir, sub_dir
from tabrl.scenes import menagerie
from tabrl.scenes.catalog import SceneSpec, get_spec
from tabrl.scenes.loader import LoadedScene, load_scene

_JOINT_TYPES = {0: "free", 1: "ball", 2: "slide", 3: "hinge"}
_TRN_TYPES = {0: "joint", 1: "joint_in_parent", 2: "slider_crank", 3: "tendon", 4: "site", 5: "body"}
_FOOT_WORDS = ("foot", "feet", "toe", "sole", "paw")


@dataclass(frozen=True)
class Body:
    """A rigid body: name, its parent's name and its own mass (kg)."""

    name: str
    parent: str
    mass: float


@dataclass(frozen=True)
class Joint:
    """A joint with its addresses into `qpos` / `qvel` and its range (None if unlimited)."""

    name: str
    type: str
    body: str
    range: tuple[float, float] | None
    qpos_adr: int
    qvel_adr: int
    qpos_dim: int
    qvel_dim: int


@dataclass(frozen=True)
class Actuator:
    """An actuator: what it drives, how (motor / position / velocity / ...), its ctrl range."""

    name: str
    type: str
    target: str
    target_type: str
    ctrl_range: tuple[float, float] | None
    force_range: tuple[float, float] | None
    gear: float
    kp: float | None = None


@dataclass(frozen=True)
class Sensor:
    """A sensor with its address and size in `sensordata`."""

    name: str
    type: str
    adr: int
    dim: int


@dataclass(frozen=True)
class Site:
    """A site and the body it is attached to."""

    name: str
    body: str


@dataclass(frozen=True)
class ObsSegment:
    """One named slice of the observation vector."""

    name: str
    size: int


#: The sizes a listing shows for each scene.
SIZE_KEYS = ("nq", "nv", "nu", "dof", "obs_size", "action_size")


@dataclass(frozen=True)
class RobotCard:
    """Everything TabRL knows about a scene's robot; see the module docstring."""

    id: str
    name: str
    source: str
    category: str
    description: str
    nq: int
    nv: int
    nu: int
    dof: int
    floating_base: bool
    root_body: str
    total_mass: float
    obs_size: int
    action_size: int
    observation: tuple[ObsSegment, ...]
    sim_dt: float
    ctrl_dt: float
    bodies: tuple[Body, ...]
    joints: tuple[Joint, ...]
    actuators: tuple[Actuator, ...]
    sensors: tuple[Sensor, ...]
    sites: tuple[Site, ...]
    geoms: tuple[str, ...]
    feet: tuple[str, ...]
    keyframes: tuple[str, ...]
    has_base_policy: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    #: Licence and attribution of each Menagerie robot the scene uses (read live, not cached).
    licences: tuple[menagerie.RobotLicence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotCard:
        """Inverse of `to_dict`."""
        nested = {
            "observation": ObsSegment,
            "bodies": Body,
            "joints": Joint,
            "actuators": Actuator,
            "sensors": Sensor,
            "sites": Site,
            "licences": menagerie.RobotLicence,
        }
        kwargs = dict(data)
        for key, typ in nested.items():
            kwargs[key] = tuple(typ(**_tuplify(item)) for item in data.get(key, ()))
        for key in ("geoms", "feet", "keyframes"):
            kwargs[key] = tuple(data[key])
        return cls(**kwargs)

    def summary(self) -> dict[str, Any]:
        """The fields `scenes list --json` shows."""
        keys = ("id", "name", "category", "source", *SIZE_KEYS)
        out = {k: getattr(self, k) for k in keys}
        out["has_base_policy"] = self.has_base_policy
        return out

    @property
    def physics_cost(self) -> float:
        """Relative cost of one control step: substeps x (dofs + collision geoms).

        The same figure as `tabrl.training.estimates.physics_cost` of the loaded model; cards built
        before `physics_cost` was recorded count every geom (an over-estimate).
        """
        substeps = max(1, round(self.ctrl_dt / self.sim_dt)) if self.sim_dt else 1
        per_step = self.extras.get("physics_cost") or max(1, self.nv + len(self.geoms))
        return float(substeps * per_step)

    def facts(self) -> dict[str, Any]:
        """What listings, estimates and the CPU backend rule read (`tabrl.scenes.index`)."""
        return {
            **{k: getattr(self, k) for k in SIZE_KEYS},
            "physics_cost": self.physics_cost,
            "floor_contacts": int(self.extras.get("floor_contacts", 0)),
            "mujoco_unsupported": self.extras.get("mujoco_unsupported"),
        }


def _tuplify(item: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}


# --- Derivation from the model -----------------------------------------------------------


def _name(model: mujoco.MjModel, obj: mujoco.mjtObj, i: int, kind: str) -> str:
    # Unnamed elements get a stable stand-in so the reward API can still address them.
    return mujoco.mj_id2name(model, obj, i) or f"{kind}{i}"


def _range(limited: bool, rng: np.ndarray) -> tuple[float, float] | None:
    # Rounded: MuJoCo stores float64 of values written as short decimals in the XML.
    return (round(float(rng[0]), 9), round(float(rng[1]), 9)) if limited else None


def is_floating_base(model: mujoco.MjModel) -> bool:
    """Whether the first joint is a free joint of a body attached to the world."""
    return bool(
        model.njnt > 0
        and model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
        and model.body_parentid[model.jnt_bodyid[0]] == 0
    )


def _actuator_type(model: mujoco.MjModel, i: int) -> tuple[str, float | None]:
    gain, bias = model.actuator_gaintype[i], model.actuator_biastype[i]
    gp, bp = model.actuator_gainprm[i], model.actuator_biasprm[i]
    if bias == mujoco.mjtBias.mjBIAS_NONE and gain == mujoco.mjtGain.mjGAIN_FIXED:
        return "motor", None
    if bias == mujoco.mjtBias.mjBIAS_AFFINE and bp[1] != 0 and np.isclose(gp[0], -bp[1]):
        return "position", float(gp[0])
    if bias == mujoco.mjtBias.mjBIAS_AFFINE and bp[1] == 0 and bp[2] != 0:
        return "velocity", None
    return "general", None


def _actuators(model: mujoco.MjModel) -> tuple[Actuator, ...]:
    out = []
    for i in range(model.nu):
        trn = int(model.actuator_trntype[i])
        tid = int(model.actuator_trnid[i, 0])
        obj = {
            0: mujoco.mjtObj.mjOBJ_JOINT,
            1: mujoco.mjtObj.mjOBJ_JOINT,
            3: mujoco.mjtObj.mjOBJ_TENDON,
            4: mujoco.mjtObj.mjOBJ_SITE,
            5: mujoco.mjtObj.mjOBJ_BODY,
        }.get(trn)
        target = _name(model, obj, tid, _TRN_TYPES[trn]) if obj is not None and tid >= 0 else ""
        kind, kp = _actuator_type(model, i)
        out.append(
            Actuator(
                name=_name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, i, "actuator"),
                type=kind,
                target=target,
                target_type=_TRN_TYPES.get(trn, "other"),
                ctrl_range=_range(bool(model.actuator_ctrllimited[i]), model.actuator_ctrlrange[i]),
                force_range=_range(bool(model.actuator_forcelimited[i]), model.actuator_forcerange[i]),
                gear=float(model.actuator_gear[i, 0]),
                kp=kp,
            )
        )
    return tuple(out)


def _joints(model: mujoco.MjModel) -> tuple[Joint, ...]:
    dims = {0: (7, 6), 1: (4, 3), 2: (1, 1), 3: (1, 1)}
    out = []
    for j in range(model.njnt):
        jt = int(model.jnt_type[j])
        out.append(
            Joint(
                name=_name(model, mujoco.mjtObj.mjOBJ_JOINT, j, "joint"),
                type=_JOINT_TYPES[jt],
                body=_name(model, mujoco.mjtObj.mjOBJ_BODY, int(model.jnt_bodyid[j]), "body"),
                range=_range(bool(model.jnt_limited[j]) and jt in (2, 3), model.jnt_range[j]),
                qpos_adr=int(model.jnt_qposadr[j]),
                qvel_adr=int(model.jnt_dofadr[j]),
                qpos_dim=dims[jt][0],
                qvel_dim=dims[jt][1],
            )
        )
    return tuple(out)


def find_feet(model: mujoco.MjModel) -> tuple[str, ...]:
    """Collision geoms that are likely feet.

    Geoms named like feet win. Otherwise, for a floating-base robot, the lowest
    colliding geom of every leaf body (a body without children) at the reference pose:
    that finds Go1's unnamed-by-word foot spheres "FR", "FL", "RR", "RL".
    """
    collide = [g for g in range(model.ngeom) if model.geom_contype[g] or model.geom_conaffinity[g]]
    robot = [g for g in collide if model.geom_bodyid[g] != 0]
    named = [
        g
        for g in robot
        if any(
            w in (mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g) or "").lower() for w in _FOOT_WORDS
        )
    ]
    if named:
        return tuple(_name(model, mujoco.mjtObj.mjOBJ_GEOM, g, "geom") for g in named)
    if not is_floating_base(model):
        return ()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    parents = set(model.body_parentid[1:].tolist())
    leaves = [b for b in range(1, model.nbody) if b not in parents]
    feet = []
    for b in leaves:
        geoms = [g for g in robot if model.geom_bodyid[g] == b]
        if geoms:
            low = min(geoms, key=lambda g: data.geom_xpos[g, 2] - model.geom_rbound[g])
            feet.append(_name(model, mujoco.mjtObj.mjOBJ_GEOM, low, "geom"))
    return tuple(feet)


def default_observation(model: mujoco.MjModel) -> tuple[ObsSegment, ...]:
    """Observation layout of TabRL's own environments (Menagerie / MJCF scenes).

    Floating base: base height, gravity's direction in the base frame, joint angles, base
    linear and angular velocity in the base frame, joint velocities, previous action. The
    base's x/y position and heading are left out so a policy does not depend on where it
    stands or which way it faces: with the heading observed (a world quaternion), a turning
    robot sees states it never trained on, and the Go1 joystick policy never learned to turn.
    Fixed base: qpos, qvel, previous action.
    """
    if is_floating_base(model):
        return (
            ObsSegment("base_height", 1),
            ObsSegment("gravity_local", 3),
            ObsSegment("joint_pos", model.nq - 7),
            ObsSegment("base_linvel_local", 3),
            ObsSegment("base_angvel_local", 3),
            ObsSegment("joint_vel", model.nv - 6),
            ObsSegment("last_action", model.nu),
        )
    return (ObsSegment("qpos", model.nq), ObsSegment("qvel", model.nv), ObsSegment("last_action", model.nu))


def _playground_observation(env: Any) -> tuple[tuple[ObsSegment, ...], int, dict[str, Any]]:
    size = env.observation_size
    if isinstance(size, dict):
        # Playground's asymmetric tasks: the policy sees "state"; the critic may see more.
        segs = tuple(ObsSegment(k, int(np.prod(v))) for k, v in size.items())
        policy = next((s.size for s in segs if s.name == "state"), segs[0].size)
        return segs, policy, {"policy_obs_key": "state"}
    return (ObsSegment("state", int(size)),), int(size), {}


def reference_qpos(model: mujoco.MjModel) -> np.ndarray:
    """The reference pose: keyframe "home" if the model has one, else the model's qpos0."""
    for k in range(model.nkey):
        if mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_KEY, k) == "home":
            return np.array(model.key_qpos[k], dtype=np.float64)
    return np.array(model.qpos0, dtype=np.float64)


def build_card(scene: LoadedScene) -> RobotCard:
    """Derive the card of a loaded scene."""
    model, spec = scene.mj_model, scene.spec
    if scene.env is not None:
        observation, obs_size, extras = _playground_observation(scene.env)
        action_size = int(scene.env.action_size)
    else:
        observation, extras = default_observation(model), {}
        obs_size, action_size = sum(s.size for s in observation), model.nu
    bodies = tuple(
        Body(
            name=_name(model, mujoco.mjtObj.mjOBJ_BODY, b, "body"),
            parent=_name(model, mujoco.mjtObj.mjOBJ_BODY, int(model.body_parentid[b]), "body") if b else "",
            mass=float(model.body_mass[b]),
        )
        for b in range(model.nbody)
    )
    floating = is_floating_base(model)
    root = int(model.jnt_bodyid[0]) if floating else (1 if model.nbody > 1 else 0)
    return RobotCard(
        id=spec.id,
        name=spec.name,
        source=spec.source,
        category=spec.category,
        description=spec.description,
        nq=model.nq,
        nv=model.nv,
        nu=model.nu,
        dof=model.nv,
        floating_base=floating,
        root_body=_name(model, mujoco.mjtObj.mjOBJ_BODY, root, "body"),
        total_mass=float(model.body_mass.sum()),
        obs_size=obs_size,
        action_size=action_size,
        observation=observation,
        sim_dt=float(scene.sim_dt),
        ctrl_dt=float(scene.ctrl_dt),
        bodies=bodies,
        joints=_joints(model),
        actuators=_actuators(model),
        sensors=tuple(
            Sensor(
                name=_name(model, mujoco.mjtObj.mjOBJ_SENSOR, i, "sensor"),
                type=mujoco.mjtSensor(int(model.sensor_type[i])).name.removeprefix("mjSENS_").lower(),
                adr=int(model.sensor_adr[i]),
                dim=int(model.sensor_dim[i]),
            )
            for i in range(model.nsensor)
        ),
        sites=tuple(
            Site(
                _name(model, mujoco.mjtObj.mjOBJ_SITE, i, "site"),
                _name(model, mujoco.mjtObj.mjOBJ_BODY, int(model.site_bodyid[i]), "body"),
            )
            for i in range(model.nsite)
        ),
        geoms=tuple(_name(model, mujoco.mjtObj.mjOBJ_GEOM, g, "geom") for g in range(model.ngeom)),
        feet=find_feet(model),
        keyframes=tuple(_name(model, mujoco.mjtObj.mjOBJ_KEY, k, "key") for k in range(model.nkey)),
        has_base_policy=has_base_policy(spec.id),
        extras={**extras, **_backend_extras(model)},
    )


def _backend_extras(model: mujoco.MjModel) -> dict[str, Any]:
    """What the training-backend rule reads (`tabrl.training.backends.scene_support`)."""
    from tabrl.scenes.contacts import mujoco_backend_support, reference_floor_gap

    why = mujoco_backend_support(model)
    # Contact-rich: the robot starts on or just above the floor in its reference pose (within 30 cm:
    # DM Control's Humanoid starts 21 cm up, Cheetah 8 cm), as walkers do; CartpoleBalance's cart
    # could collide with the floor but hangs 95 cm above it.
    gap = reference_floor_gap(model, reference_qpos(model))
    return {
        # `tabrl.training.estimates.physics_cost` of one substep (dofs + collision geoms): scenes sit below
        # training, so it is computed here and read through `RobotCard.physics_cost`.
        "physics_cost": float(max(1, model.nv + int((model.geom_contype != 0).sum()))),
        "floor_contacts": int(gap < 0.3),
        "mujoco_unsupported": why,
        "backends": ["mjx"] if why else ["mjx", "mujoco"],
    }


# --- Base policies and the on-disk cache ------------------------------------------------


def has_base_policy(scene_id: str) -> bool:
    """Whether a base policy (shipped or installed, `tabrl.scenes.bases`) exists for `scene_id`."""
    from tabrl.scenes.bases import scene_base

    return scene_base(scene_id) is not None


def _safe(scene_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in scene_id)


#: Bumped whenever a card gains or changes a field, so cached cards are rebuilt.
# 7: every card records `physics_cost` (cards of 6 could predate it).
CARD_SCHEMA = 7


def _cache_key(spec: SceneSpec) -> str:
    parts = [__version__, str(CARD_SCHEMA), mujoco.__version__, spec.id, spec.source, spec.target]
    if spec.source == "mjcf":
        path = Path(spec.target)
        parts.append(str(path.stat().st_mtime_ns) if path.exists() else "missing")
    if spec.source == "playground":
        from importlib import metadata

        parts.append(metadata.version("playground"))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _cache_file(spec: SceneSpec) -> Path:
    return sub_dir(cache_dir(), "cards") / f"{_safe(spec.id)}-{_cache_key(spec)}.json"


def licences(spec: SceneSpec) -> tuple[menagerie.RobotLicence, ...]:
    """Licence and attribution of every Menagerie robot `spec` needs that is on this machine."""
    found = (menagerie.licence(name) for name in spec.requires)
    return tuple(lic for lic in found if lic is not None)


def _live(card: RobotCard, spec: SceneSpec) -> RobotCard:
    # The base-policy flag and licences are live: a policy can be installed, or a robot found in
    # another folder, after the card was cached.
    data = card.to_dict()
    data["has_base_policy"] = has_base_policy(spec.id)
    data["licences"] = [asdict(lic) for lic in licences(spec)]
    return RobotCard.from_dict(data)


def cached_card(scene: str | SceneSpec) -> RobotCard | None:
    """The scene's card if it was built before (disk cache), else None; never loads the scene.

    Listings use this so that showing the gallery does not load every scene.
    """
    spec = get_spec(scene) if isinstance(scene, str) else scene
    path = _cache_file(spec)
    return _live(RobotCard.from_dict(json.loads(path.read_text())), spec) if path.is_file() else None


def robot_card(scene: str | SceneSpec | LoadedScene) -> RobotCard:
    """The card of a scene, from the disk cache when possible (loads the scene otherwise)."""
    loaded = scene if isinstance(scene, LoadedScene) else None
    spec = loaded.spec if loaded else get_spec(scene) if isinstance(scene, str) else scene
    # Building traces a Playground reset (seconds): done once per scene version, then cached.
    cached = cached_json(
        _cache_file(spec),
        lambda: {**build_card(loaded or load_scene(spec)).to_dict(), "licences": []},
        valid=lambda data: isinstance(data, dict),
    )
    return _live(RobotCard.from_dict(cached), spec)
