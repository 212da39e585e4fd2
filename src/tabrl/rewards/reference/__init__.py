"""Reference reward programs: hand-written examples that compile on their scenes.

They are data, not modules: each `.py` file is reward source text (it uses the injected
`jnp`, `tolerance`, ... and is never imported). `index.json` lists them with their scene.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tabrl.errors import NotFoundError, did_you_mean

_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ReferenceReward:
    """One reference reward: its name, scene, one-line description, source and file."""

    name: str
    scene_id: str
    description: str
    code: str
    path: Path


@lru_cache(maxsize=1)
def _load() -> tuple[ReferenceReward, ...]:
    entries = json.loads((_DIR / "index.json").read_text(encoding="utf-8"))
    return tuple(
        ReferenceReward(
            name=e["name"],
            scene_id=e["scene_id"],
            description=e["description"],
            code=(_DIR / e["file"]).read_text(encoding="utf-8"),
            path=_DIR / e["file"],
        )
        for e in entries
    )


def list_reference(scene_id: str | None = None) -> list[ReferenceReward]:
    """Every reference reward (or those of one scene)."""
    return [r for r in _load() if scene_id in (None, r.scene_id)]


def get_reference(name: str) -> ReferenceReward:
    """A reference reward by name."""
    for r in _load():
        if r.name == name:
            return r
    raise NotFoundError(f"unknown reference reward {name!r}.{did_you_mean(name, [r.name for r in _load()])}")


__all__ = ["ReferenceReward", "get_reference", "list_reference"]
