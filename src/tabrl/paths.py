"""Where TabRL keeps its files.

`TABRL_HOME` (default `~/.local/share/tabrl`) holds what a person creates: policies,
runs, registered MJCF scenes, the job database. `TABRL_CACHE_DIR` (default
`~/.cache/tabrl`) holds what can be rebuilt: robot cards, thumbnails, videos.
"""

from __future__ import annotations

import os
from pathlib import Path


def home_dir() -> Path:
    """TabRL's data directory (created on demand)."""
    raw = os.environ.get("TABRL_HOME") or (
        Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "tabrl"
    )
    path = Path(raw).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """TabRL's cache directory (created on demand)."""
    raw = os.environ.get("TABRL_CACHE_DIR") or (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tabrl"
    )
    path = Path(raw).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sub_dir(root: Path, *parts: str) -> Path:
    """`root/parts...`, created on demand."""
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
