"""The base policies on this machine: shipped in the package, or installed by `tabrl base train`.

A base policy folder is a policy folder (params.msgpack + manifest.json, `tabrl.policies.store`)
whose manifest has a `base` entry (id, title, kind, description, the command that reproduces it).
This module only reads manifests as JSON, so every layer (scene cards, the composer, training,
the server) can ask which base policies exist without importing the policy store.

Where: `<TABRL_HOME>/base_policies/<id>` (installed; takes precedence) and the package's
`tabrl/assets/base_policies/<id>` (shipped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tabrl.errors import NotFoundError, did_you_mean
from tabrl.paths import home_dir

#: Key of the base entry in a base policy's manifest.json.
BASE_MANIFEST_KEY = "base"


def shipped_dir() -> Path:
    """Where the package's own base policies live."""
    return Path(__file__).resolve().parent.parent / "assets" / "base_policies"


def user_dir() -> Path:
    """Where `tabrl base train` installs base policies (`<TABRL_HOME>/base_policies`)."""
    return home_dir() / "base_policies"


@dataclass(frozen=True)
class BasePolicy:
    """One base policy on this machine."""

    id: str
    scene_id: str
    title: str
    #: "joystick" (follows velocity commands: command programs play on it) or "task".
    kind: str
    description: str
    dir: Path
    #: Where it comes from: "shipped" (in the package) or "installed" (`tabrl base train`).
    source: str
    #: The command that reproduces it.
    reproduce: str
    backend: str
    steps: int
    eval_reward: float | None
    train_wall_s: float | None
    trained_on: str
    #: Largest |forward m/s|, |sideways m/s|, |yaw rad/s| a joystick policy follows; None otherwise.
    command_range: tuple[float, float, float] | None
    #: Whether a joystick policy follows yaw-rate commands (turns); measured when it was trained.
    turns: bool = True

    @property
    def joystick(self) -> bool:
        """Whether it follows velocity commands."""
        return self.command_range is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "id": self.id, "scene_id": self.scene_id, "title": self.title, "kind": self.kind,
            "description": self.description, "dir": str(self.dir), "source": self.source,
            "reproduce": self.reproduce, "backend": self.backend, "steps": self.steps,
            "eval_reward": self.eval_reward, "train_wall_s": self.train_wall_s,
            "trained_on": self.trained_on,
            "command_range": list(self.command_range) if self.command_range else None,
            "turns": self.turns,
        }  # fmt: skip


def _read(folder: Path, source: str) -> BasePolicy | None:
    path = folder / "manifest.json"
    if not (path.is_file() and (folder / "params.msgpack").is_file()):
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        base = manifest[BASE_MANIFEST_KEY]
    except (OSError, ValueError, KeyError):
        return None
    config = manifest.get("config", {})
    commands = config.get("command_range")
    return BasePolicy(
        id=base["id"], scene_id=manifest["scene_id"], title=base.get("title", base["id"]),
        kind=base.get("kind", "task"), description=base.get("description", ""), dir=folder,
        source=source, reproduce=base.get("reproduce", f"tabrl base train {base['id']}"),
        backend=manifest.get("backend", config.get("backend", "mjx")), steps=int(manifest.get("steps", 0)),
        eval_reward=manifest.get("eval_reward"), train_wall_s=base.get("train_wall_s"),
        trained_on=base.get("trained_on", "cpu"),
        command_range=tuple(float(v) for v in commands) if commands else None,  # type: ignore[arg-type]
        turns=bool(base.get("turns", True)),
    )  # fmt: skip


def _scan(root: Path, source: str) -> dict[str, BasePolicy]:
    if not root.is_dir():
        return {}
    found = (_read(d, source) for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith("."))
    return {b.id: b for b in found if b is not None}


@lru_cache(maxsize=1)
def _shipped() -> dict[str, BasePolicy]:
    return _scan(shipped_dir(), "shipped")


def list_bases(scene_id: str | None = None) -> list[BasePolicy]:
    """Every base policy on this machine (installed ones replace shipped ones of the same id)."""
    found = {**_shipped(), **_scan(user_dir(), "installed")}
    return [b for b in found.values() if scene_id in (None, b.scene_id)]


def get_base(base_id: str) -> BasePolicy:
    """A base policy by id."""
    found = {b.id: b for b in list_bases()}
    if base_id in found:
        return found[base_id]
    raise NotFoundError(
        f"no base policy {base_id!r}.{did_you_mean(base_id, found)} "
        f"On this machine: {', '.join(found) or '(none)'}; `tabrl base list` shows them"
    )


def scene_base(scene_id: str) -> BasePolicy | None:
    """The base policy a scene starts from (a joystick one first), or None."""
    bases = sorted(list_bases(scene_id), key=lambda b: (not b.joystick, b.id))
    return bases[0] if bases else None


__all__ = [
    "BASE_MANIFEST_KEY",
    "BasePolicy",
    "get_base",
    "list_bases",
    "scene_base",
    "shipped_dir",
    "user_dir",
]
