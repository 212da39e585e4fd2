"""Offline-first access to MuJoCo Menagerie robots.

Robots come from the `mujoco-menagerie` package: with `MENAGERIE_ROOT=<dir>` it reads
`<dir>/<robot>` from disk, otherwise it downloads a robot into its cache on first use.
MuJoCo Playground instead expects one folder with every robot in it
(`mjx_env.MENAGERIE_PATH`) and would `git clone` Menagerie when that folder is missing.
`playground_menagerie_path()` gives it such a folder -- `MENAGERIE_ROOT` itself, or a
folder of links into the package cache -- so Playground never clones anything.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from tabrl.errors import NotFoundError, UnavailableError, did_you_mean
from tabrl.paths import cache_dir, sub_dir

#: Playground asks for a few folders under names that differ from the package's.
_FOLDER_ALIASES = {"robotiq_2f85_v4": "robotiq_2f85"}

HOW_TO_GET = (
    "connect to the internet so `mujoco-menagerie` can download it, or set "
    "MENAGERIE_ROOT to a folder that holds it (e.g. MENAGERIE_ROOT=../shared/menagerie)"
)


def root() -> Path | None:
    """The `MENAGERIE_ROOT` folder, if one is set."""
    raw = os.environ.get("MENAGERIE_ROOT")
    return Path(raw).expanduser().resolve() if raw else None


@lru_cache(maxsize=1)
def _registry():
    import mujoco_menagerie

    return mujoco_menagerie


def robot_names() -> list[str]:
    """Every robot the Menagerie package knows (no I/O)."""
    return _registry().names()


def robot_info(name: str):
    """Registry metadata of one robot; unknown names list the closest ones."""
    package_name = _FOLDER_ALIASES.get(name, name)
    if package_name not in robot_names():
        raise NotFoundError(f"unknown Menagerie robot {name!r}.{did_you_mean(name, robot_names())}")
    return _registry().get(package_name)


def local_path(name: str) -> Path | None:
    """Where robot `name` lives on disk right now, without any network access."""
    r = root()
    if r is not None:
        path = r / name
        return path if path.is_dir() else None
    import mujoco_menagerie

    robot = robot_info(name)
    cache = mujoco_menagerie.Cache()
    return cache.model_path(robot) if cache.is_cached(robot) else None


def is_available(name: str) -> bool:
    """Whether robot `name` can be loaded without a download."""
    return local_path(name) is not None


def resolve(name: str) -> Path:
    """The robot's folder; downloads it when allowed. Fails fast with how to get it."""
    path = local_path(name)
    if path is not None:
        return path
    r = root()
    if r is not None:
        raise UnavailableError(f"Menagerie robot {name!r} is not under MENAGERIE_ROOT={r}; {HOW_TO_GET}.")
    import mujoco_menagerie

    try:
        return mujoco_menagerie.Cache().resolve(robot_info(name), progress=None)
    except Exception as exc:  # network errors come as many types
        raise UnavailableError(
            f"Menagerie robot {name!r} is not on this machine and could not be downloaded "
            f"({type(exc).__name__}: {exc}); {HOW_TO_GET}."
        ) from None


def scene_entry(name: str):
    """The scene entry point TabRL loads for a robot: `scene_mjx` when it has one."""
    robot = robot_info(name)
    entries = {e.name: e for e in robot.entry_points}
    # Menagerie's *_mjx scenes are tuned for MJX (simpler collisions); prefer them.
    return entries.get("scene_mjx") or entries.get(robot.default_scene) or entries[robot.default_model]


def scene_available(name: str) -> bool:
    """Whether robot `name`'s scene XML is on disk (a folder with meshes only is not enough)."""
    path = local_path(name)
    return path is not None and (path / scene_entry(name).file).is_file()


def playground_menagerie_path(required: tuple[str, ...] = ()) -> Path:
    """A folder laid out like a Menagerie checkout holding every robot in `required`.

    With `MENAGERIE_ROOT` that is the root itself. Otherwise robots are resolved through
    the package cache (downloading if needed) and linked into `<cache>/menagerie`.
    """
    for name in required:
        resolve(name)
    r = root()
    if r is not None:
        return r
    links = sub_dir(cache_dir(), "menagerie")
    for name in required:
        link = links / name
        target = resolve(name)
        if link.is_symlink() and link.resolve() != target.resolve():
            link.unlink()
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    return links


def point_playground_at(required: tuple[str, ...] = ()) -> Path:
    """Set Playground's `MENAGERIE_PATH` so it finds `required` robots and never clones."""
    from mujoco_playground._src import mjx_env

    path = playground_menagerie_path(required)
    mjx_env.MENAGERIE_PATH = path
    return path
