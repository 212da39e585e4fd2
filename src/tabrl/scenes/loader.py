"""Load a scene into MuJoCo: the C model always, Playground's MJX env for Playground tasks."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco

from tabrl.errors import TabRLError
from tabrl.runtime import MJX_IMPL
from tabrl.scenes import compat, menagerie
from tabrl.scenes.catalog import MJCF_PREFIX, SceneSpec, get_spec, mjcf_dir

#: Control period for Menagerie / MJCF scenes (50 Hz, as Playground's locomotion tasks).
DEFAULT_CTRL_DT = 0.02


class SceneLoadError(TabRLError):
    """A scene's MJCF could not be compiled; the message is MuJoCo's, with its line."""

    status_code = 422


@dataclass
class LoadedScene:
    """A scene ready to simulate: MuJoCo model plus, for Playground tasks, the task env."""

    spec: SceneSpec
    mj_model: mujoco.MjModel
    #: Playground `MjxEnv` (None for Menagerie / MJCF scenes).
    env: Any | None
    ctrl_dt: float
    sim_dt: float
    #: Path of the XML the model came from, when it came from a file.
    xml_path: Path | None = None

    @property
    def n_substeps(self) -> int:
        """Physics steps per control step."""
        return max(1, round(self.ctrl_dt / self.sim_dt))


def _compile(xml_path: Path) -> mujoco.MjModel:
    try:
        return mujoco.MjModel.from_xml_path(str(xml_path))
    except ValueError as exc:
        raise SceneLoadError(f"{xml_path.name}: {_mujoco_message(exc)}") from None


def _mujoco_message(exc: Exception) -> str:
    # MuJoCo's XML errors are multi-line ("XML Error: ...\nElement 'x', line 7");
    # one line is what a CLI or an HTTP error body shows well.
    return re.sub(r"\s*\n\s*", "; ", str(exc).strip())


def playground_config(env_name: str) -> Any:
    """Playground's default config for a task, set to MJX's JAX implementation.

    Playground 0.2.0 defaults to `impl="warp"`, which is slow on CPU and whose data
    layout differs; TabRL always uses the JAX implementation so one code path serves
    CPU and GPU.
    """
    from mujoco_playground import registry

    cfg = registry.get_default_config(env_name)
    if "impl" in cfg:
        cfg.impl = MJX_IMPL
    return cfg


def _load_playground(spec: SceneSpec) -> LoadedScene:
    menagerie.point_playground_at(spec.requires)
    compat.apply()
    from mujoco_playground import registry

    cfg = playground_config(spec.target)
    try:
        env = registry.load(spec.target, config=cfg)
    except ValueError as exc:
        raise SceneLoadError(f"Playground task {spec.id}: {_mujoco_message(exc)}") from None
    return LoadedScene(
        spec=spec, mj_model=env.mj_model, env=env, ctrl_dt=float(env.dt), sim_dt=float(env.sim_dt)
    )


def _menagerie_xml(robot_name: str) -> Path:
    folder = menagerie.scene_folder(robot_name) or menagerie.resolve(robot_name)
    path = folder / menagerie.scene_entry(robot_name).file
    if not path.is_file():
        raise SceneLoadError(
            f"Menagerie robot {robot_name!r} at {folder} has no {path.name} (only part of it is there); "
            f"{menagerie.HOW_TO_GET}."
        )
    return path


def load_scene(scene: str | SceneSpec) -> LoadedScene:
    """Load `scene` (an id, a path to an MJCF file, or a spec)."""
    spec = get_spec(scene) if isinstance(scene, str) else scene
    if spec.source == "playground":
        return _load_playground(spec)
    xml = _menagerie_xml(spec.target) if spec.source == "menagerie" else Path(spec.target)
    model = _compile(xml)
    sim_dt = float(model.opt.timestep)
    ctrl_dt = sim_dt * max(1, round(DEFAULT_CTRL_DT / sim_dt))
    return LoadedScene(spec=spec, mj_model=model, env=None, ctrl_dt=ctrl_dt, sim_dt=sim_dt, xml_path=xml)


_MAX_ASSET_BYTES = 512 * 2**20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


def register_mjcf(
    name: str,
    *,
    xml_path: Path | None = None,
    xml: str | None = None,
    assets_dir: Path | None = None,
    category: str = "other",
    description: str = "",
) -> SceneSpec:
    """Copy a person's MJCF (file, or XML string plus asset folder) into TabRL's scenes.

    The model is compiled first, so a malformed file is reported (with MuJoCo's line
    number) and nothing is registered.
    """
    if not _NAME_RE.match(name):
        raise TabRLError(f"scene name {name!r} must be 1-64 letters, digits, '_' or '-'")
    if (xml_path is None) == (xml is None):
        raise TabRLError("give either an MJCF file path or an XML string")
    if category not in ("locomotion", "manipulation", "classic_control", "other"):
        raise TabRLError(f"category {category!r} must be locomotion, manipulation, classic_control or other")
    folder = mjcf_dir() / name
    staging = mjcf_dir() / f".{name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    if xml_path is not None:
        # MuJoCo resolves meshes relative to the XML file, so its folder comes along
        # (or the asset folder given); refuse to copy something huge by accident.
        source_dir = assets_dir or xml_path.resolve().parent
        size = sum(f.stat().st_size for f in source_dir.rglob("*") if f.is_file())
        if size > _MAX_ASSET_BYTES:
            raise TabRLError(
                f"{source_dir} holds {size / 2**20:.0f} MiB; put the MJCF and its meshes in their own "
                "folder, or pass the asset folder explicitly"
            )
        shutil.copytree(source_dir, staging)
        shutil.copy2(xml_path, staging / "scene.xml")
    else:
        if assets_dir is not None:
            shutil.copytree(assets_dir, staging)
        else:
            staging.mkdir(parents=True)
        (staging / "scene.xml").write_text(xml or "")
    try:
        _compile(staging / "scene.xml")
    except SceneLoadError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    import json

    meta = {"name": name, "category": category, "description": description, "file": "scene.xml"}
    (staging / "scene.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return get_spec(MJCF_PREFIX + name)
