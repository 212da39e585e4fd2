"""Test-wide settings: offline Menagerie, isolated TabRL home, shared caches, tiers.

Tests marked `heavy` (MJX compile of contact-rich robots, long training) are skipped
unless `TABRL_HEAVY=1` is set or `-m heavy` is given; `.ci/run` runs them too.
"""

from __future__ import annotations

import os
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
