"""The list of scenes a person can teach: Playground tasks, Menagerie robots, own MJCF.

A `SceneSpec` says where a scene comes from and what it needs; it is cheap (no model is
loaded). `loader.load_scene` turns one into MuJoCo models, and `cards.robot_card`
describes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from tabrl.atomic import cached_json
from tabrl.errors import NotFoundError, did_you_mean
from tabrl.paths import home_dir, sub_dir
from tabrl.scenes import menagerie

Source = Literal["playground", "menagerie", "mjcf"]
Category = Literal["locomotion", "manipulation", "classic_control", "other"]


@dataclass(frozen=True)
class SceneSpec:
    """Where a scene comes from; cheap to build, nothing is loaded."""

    id: str
    name: str
    source: Source
    category: Category
    description: str = ""
    #: Playground environment name, Menagerie robot name, or path of the MJCF file.
    target: str = ""
    #: Menagerie robots whose files must be on disk to load the scene.
    requires: tuple[str, ...] = field(default=())

    def missing(self) -> list[str]:
        """Required Menagerie robots not on this machine (empty when loadable offline)."""
        if self.source == "menagerie":
            return [] if menagerie.scene_available(self.target) else [self.target]
        return [r for r in self.requires if not menagerie.is_available(r)]

    @property
    def available(self) -> bool:
        """Whether the scene loads without downloading anything."""
        return not self.missing()


# --- MuJoCo Playground -------------------------------------------------------------

_DM_CONTROL_CATEGORY: dict[str, Category] = {
    "Cheetah": "locomotion",
    "Hopper": "locomotion",
    "Walker": "locomotion",
    "Humanoid": "locomotion",
    "Swimmer": "locomotion",
    "Fish": "locomotion",
    "Finger": "manipulation",
    "Reacher": "manipulation",
    "BallInCup": "manipulation",
}

#: Playground task-name prefix -> Menagerie folders the task's XML reads meshes from.
_PLAYGROUND_REQUIRES: dict[str, tuple[str, ...]] = {
    "Go1": ("unitree_go1",),
    "G1": ("unitree_g1",),
    "Apollo": ("apptronik_apollo",),
    "Barkour": ("google_barkour_vb",),
    "BerkeleyHumanoid": ("berkeley_humanoid",),
    "H1": ("unitree_h1",),
    "Op3": ("robotis_op3",),
    "Spot": ("boston_dynamics_spot",),
    "T1": ("booster_t1",),
    "Aloha": ("aloha",),
    "PandaRobotiq": ("franka_emika_panda", "robotiq_2f85_v4"),
    "Panda": ("franka_emika_panda",),
    "Leap": ("leap_hand",),
    "Aero": ("tetheria_aero_hand_open",),
}


def _requires_for(env_name: str) -> tuple[str, ...]:
    # Longest prefix first so "PandaRobotiq" wins over "Panda".
    for prefix in sorted(_PLAYGROUND_REQUIRES, key=len, reverse=True):
        if env_name.startswith(prefix):
            return _PLAYGROUND_REQUIRES[prefix]
    return ()


def _humanize(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", camel)


def _playground_groups() -> list[tuple[list[str], str]]:
    """Playground's task names per group, cached on disk per Playground version.

    Importing `mujoco_playground` takes seconds; listing scenes (and every CLI command that
    looks up a scene id) should not pay that when nothing is loaded.
    """
    from importlib import metadata

    from tabrl.paths import cache_dir

    def build() -> list[tuple[list[str], str]]:
        from mujoco_playground import registry

        return [
            (list(registry.dm_control_suite.ALL_ENVS), "dm_control"),
            (list(registry.locomotion.ALL_ENVS), "locomotion"),
            (list(registry.manipulation.ALL_ENVS), "manipulation"),
        ]

    path = sub_dir(cache_dir(), "registry") / f"playground-{metadata.version('playground')}.json"
    return [(names, group) for names, group in cached_json(path, build)]


@lru_cache(maxsize=1)
def _playground_specs() -> tuple[SceneSpec, ...]:
    specs: list[SceneSpec] = []
    for names, group in _playground_groups():
        for env_name in names:
            if group == "dm_control":
                prefix = next((p for p in _DM_CONTROL_CATEGORY if env_name.startswith(p)), "")
                category: Category = _DM_CONTROL_CATEGORY.get(prefix, "classic_control")
                desc = f"DeepMind Control Suite task {env_name} (MuJoCo Playground)."
            else:
                category = group  # type: ignore[assignment]
                desc = f"MuJoCo Playground {group} task {env_name}."
            specs.append(
                SceneSpec(
                    id=env_name,
                    name=_humanize(env_name),
                    source="playground",
                    category=category,
                    description=desc,
                    target=env_name,
                    requires=_requires_for(env_name),
                )
            )
    return tuple(specs)


# --- MuJoCo Menagerie ----------------------------------------------------------------

_MENAGERIE_CATEGORY: dict[str, Category] = {
    "quadruped": "locomotion",
    "humanoid": "locomotion",
    "biped": "locomotion",
    "arm": "manipulation",
    "dual_arm": "manipulation",
    "end_effector": "manipulation",
    "mobile_manipulator": "manipulation",
}


@lru_cache(maxsize=1)
def _menagerie_specs() -> tuple[SceneSpec, ...]:
    specs = []
    for robot in menagerie._registry().robots():
        specs.append(
            SceneSpec(
                id=robot.name,
                name=f"{robot.display_name} (Menagerie)",
                source="menagerie",
                category=_MENAGERIE_CATEGORY.get(robot.category, "other"),
                description=f"{robot.display_name} from MuJoCo Menagerie ({robot.category}), {robot.license}.",
                target=robot.name,
                requires=(robot.name,),
            )
        )
    return tuple(specs)


# --- A person's own MJCF ---------------------------------------------------------------

MJCF_PREFIX = "mjcf:"


def mjcf_dir() -> Path:
    """Where registered MJCF scenes live: `<TABRL_HOME>/scenes/<name>/`."""
    return sub_dir(home_dir(), "scenes")


def _mjcf_spec(folder: Path) -> SceneSpec | None:
    meta_file = folder / "scene.json"
    if not meta_file.is_file():
        return None
    meta = json.loads(meta_file.read_text())
    return SceneSpec(
        id=MJCF_PREFIX + folder.name,
        name=meta.get("name", folder.name),
        source="mjcf",
        category=meta.get("category", "other"),
        description=meta.get("description", "A scene from a user's own MJCF file."),
        target=str(folder / meta.get("file", "scene.xml")),
    )


def mjcf_specs() -> list[SceneSpec]:
    """Every registered MJCF scene (read from disk each time: they can be added live)."""
    specs = [_mjcf_spec(p) for p in sorted(mjcf_dir().iterdir()) if p.is_dir()]
    return [s for s in specs if s is not None]


def spec_for_file(path: Path) -> SceneSpec:
    """An unregistered MJCF file used directly by its path."""
    return SceneSpec(
        id=str(path),
        name=path.stem,
        source="mjcf",
        category="other",
        description=f"MJCF file {path}.",
        target=str(path.resolve()),
    )


# --- The registry ------------------------------------------------------------------------


def all_specs() -> list[SceneSpec]:
    """Every scene TabRL knows, available on this machine or not."""
    return [*_playground_specs(), *_menagerie_specs(), *mjcf_specs()]


#: Gallery order after the scenes with base policies: what people came for first.
CATEGORY_ORDER = ("locomotion", "manipulation", "classic_control")


def list_specs(include_unavailable: bool = False) -> list[SceneSpec]:
    """The scenes a person can pick: those that load here, or all with `include_unavailable`, in
    gallery order: scenes with a base policy (a joystick one first), then by `CATEGORY_ORDER`."""
    from tabrl.scenes.bases import list_bases

    specs = all_specs()
    bases: dict[str, int] = {}
    for b in list_bases():
        bases[b.scene_id] = min(bases.get(b.scene_id, 2), 0 if b.joystick else 1)

    def rank(spec: SceneSpec) -> tuple[int, int]:
        category = (
            CATEGORY_ORDER.index(spec.category) if spec.category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        )
        return bases.get(spec.id, 2), category

    ordered = sorted(specs, key=rank)  # stable: the catalogue's own order within a rank
    return ordered if include_unavailable else [s for s in ordered if s.available]


def get_spec(scene_id: str) -> SceneSpec:
    """The spec for `scene_id`; a path to an `.xml` file is accepted as an MJCF scene."""
    for spec in all_specs():
        if spec.id == scene_id:
            return spec
    if scene_id.endswith(".xml") and Path(scene_id).is_file():
        return spec_for_file(Path(scene_id))
    ids = [s.id for s in all_specs()]
    raise NotFoundError(f"unknown scene {scene_id!r}.{did_you_mean(scene_id, ids)} (see `tabrl scenes list`)")
