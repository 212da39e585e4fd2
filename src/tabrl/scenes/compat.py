"""Compatibility shims between MuJoCo Playground 0.2.0 and the MuJoCo TabRL pins (3.14.0), and the one
module that reaches into Playground's private parts: `_src` (what it does not export: the Menagerie path,
`make_data`) and a task's private members (`_config`, `_get_obs`, `_default_pose`: Playground has no
public accessor for a task's settings, its observation from a state, or its action-to-control map).

Playground 0.2.0's Reacher tasks (`ReacherEasy`, `ReacherHard`) pick the spec API with a
string comparison, `mujoco.__version__ >= "3.3.0"`, which is False for "3.14.0" (it compares
"1" with "3"), so they call `MjSpec.find_body`; MuJoCo 3.10 removed that method in favour of
`MjSpec.body(name)`. `apply()` gives `MjSpec` a `find_body` that forwards to `body`.

Drop this module (and its call in `tabrl.scenes.loader`) when TabRL moves to a Playground
release that no longer calls `MjSpec.find_body` (or compares versions properly).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco


def _find_body(spec: mujoco.MjSpec, name: str) -> mujoco.MjsBody | None:
    """MuJoCo <3.10 `MjSpec.find_body`: the body called `name`, or None."""
    return spec.body(name)


def set_menagerie_path(path: Path) -> None:
    """Point Playground at the folder holding Menagerie's robots (its private `mjx_env.MENAGERIE_PATH`:
    Playground has no public setting for it and would `git clone` Menagerie when the folder is missing)."""
    from mujoco_playground._src import mjx_env

    mjx_env.MENAGERIE_PATH = path


def make_data(model: Any, **kwargs: Any) -> Any:
    """Playground's `mjx_env.make_data` (MJX data with qpos/qvel/ctrl set; not exported publicly)."""
    from mujoco_playground._src import mjx_env

    return mjx_env.make_data(model, **kwargs)


def task_config(task: Any) -> Any:
    """A Playground task's settings (its private `_config`), or None for anything else."""
    return getattr(task, "_config", None)


def task_observation(task: Any) -> Any:
    """`(data, info, last_action) -> observation` of a Playground task (its private `_get_obs`), or None.

    Tasks that observe their last action read it from `info["last_act"]`: it is set from the argument."""
    if not hasattr(task, "_get_obs"):
        return None

    def observe(data: Any, info: dict[str, Any], last: Any) -> Any:
        info = {**info, "last_act": last} if "last_act" in info else info
        return task._get_obs(data, info)

    return observe


def task_action_to_ctrl(task: Any) -> Any:
    """`action -> data.ctrl` of a position-controlled Playground task (targets around its private
    `_default_pose`, scaled by its config's `action_scale`), or None when the task is not one."""
    pose = getattr(task, "_default_pose", None)
    scale = getattr(task_config(task), "action_scale", None)
    if pose is None or scale is None:
        return None
    return lambda action: pose + action * scale


def apply() -> None:
    """Install the shims; idempotent, and a no-op on a MuJoCo that still has `find_body`."""
    if not hasattr(mujoco.MjSpec, "find_body"):
        mujoco.MjSpec.find_body = _find_body
