"""Test-wide settings: offline Menagerie, isolated TabRL home, shared caches, tiers.

Tests marked `heavy` (MJX compile of contact-rich robots, long training) are skipped
unless `TABRL_HEAVY=1` is set or `-m heavy` is given; `.ci/run` runs them too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_shared = REPO.parent / "shared" / "menagerie"
if "MENAGERIE_ROOT" not in os.environ and _shared.is_dir():
    os.environ["MENAGERIE_ROOT"] = str(_shared)
# Caches (robot cards, thumbnails, compiled XLA) survive between runs: they only hold
# what can be rebuilt, keyed by versions. User data goes to a fresh home per session.
os.environ.setdefault("TABRL_CACHE_DIR", str(REPO / ".cache" / "tabrl-test"))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# TabRL picks MuJoCo's headless GL (EGL) when it is imported: before any test module imports mujoco.
import tabrl  # noqa: E402, F401


@pytest.fixture(scope="session", autouse=True)
def _tabrl_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("tabrl-home")
    os.environ["TABRL_HOME"] = str(home)
    return home


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("-m") or ""
    if os.environ.get("TABRL_HEAVY") == "1" or "heavy" in markexpr:
        return
    skip = pytest.mark.skip(reason="heavy test: set TABRL_HEAVY=1 (or -m heavy) to run it")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def go1_joystick_base():
    """The `go1-joystick` base policy shipped in the package (a product asset: it must be there)."""
    from tabrl.scenes.bases import get_base

    return get_base("go1-joystick")


def write_base(
    root: Path,
    base_id: str,
    *,
    scene_id: str = "Go1JoystickFlatTerrain",
    kind: str = "joystick",
    command_range: tuple[float, float, float] | None = (1.0, 0.5, 1.0),
    like: Path | None = None,
    title: str | None = None,
) -> Path:
    """A base policy folder `root/<base_id>`: a copy of the policy folder `like` (its manifest edited)
    or, without one, a manifest and placeholder parameters (enough for `tabrl.scenes.bases`)."""
    import json

    folder = root / base_id
    folder.mkdir(parents=True, exist_ok=True)
    if like is not None:
        shutil.copy2(like / "params.msgpack", folder / "params.msgpack")
        manifest = json.loads((like / "manifest.json").read_text())
    else:
        (folder / "params.msgpack").write_bytes(b"\x80")
        manifest = {"id": f"base-{base_id}", "backend": "mujoco", "steps": 1000, "config": {}}
    manifest["scene_id"] = scene_id
    manifest["config"] = {
        **manifest.get("config", {}),
        "command_range": list(command_range) if command_range else None,
    }
    manifest["base"] = {
        **manifest.get("base", {}),
        "id": base_id,
        "title": title or base_id.replace("-", " ").title(),
        "kind": kind,
        "description": f"{kind} base policy for tests",
        "reproduce": f"tabrl base train {base_id}",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def base_writer():
    """`write_base` (see there), for tests that need base policies of their own."""
    return write_base
