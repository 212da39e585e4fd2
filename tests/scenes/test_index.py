"""The shipped scene index: every catalogued scene is in it, and it agrees with freshly built cards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tabrl.scenes import list_specs, load_scene
from tabrl.scenes.contacts import floor_pairs
from tabrl.scenes.index import (
    FACT_KEYS,
    INDEX_FILE,
    build_index,
    compare,
    indexed_scene_ids,
    packaged_facts,
)
from tabrl.scenes.loader import register_mjcf


def test_every_listed_scene_is_in_the_shipped_index() -> None:
    # The catalogue's scenes; a person's own MJCF (other tests register some) is never in the index.
    catalogue = [s for s in list_specs() if s.source != "mjcf"]
    missing = [s.id for s in catalogue if packaged_facts(s.id) is None]
    assert not missing, f"regenerate: tabrl scenes index --out {INDEX_FILE} ({missing})"
    for spec in catalogue:
        assert set(packaged_facts(spec.id)) == set(FACT_KEYS), spec.id


def test_a_persons_mjcf_is_never_part_of_the_index() -> None:
    # `tabrl scenes index --check` once failed in CI on scenes other tests had registered.
    spec = register_mjcf(
        "index_probe", xml='<mujoco><worldbody><geom size="1" type="sphere"/></worldbody></mujoco>'
    )
    assert spec.id in {s.id for s in list_specs()}
    ids = indexed_scene_ids()
    assert spec.id not in ids and not any(i.startswith("mjcf:") for i in ids)
    assert "Go1JoystickFlatTerrain" in ids and "CartpoleBalance" in ids


@pytest.mark.parametrize("scene_id", ["CartpoleBalance", "Go1JoystickFlatTerrain", "unitree_g1"])
def test_the_index_agrees_with_a_freshly_built_card(scene_id: str) -> None:
    assert compare(build_index([scene_id])) == []


def test_a_changed_fact_is_reported_with_the_scene_and_key() -> None:
    built = build_index(["CartpoleBalance"])
    shipped = {"scenes": {"CartpoleBalance": {**built["scenes"]["CartpoleBalance"], "nu": 7}}}
    assert compare(built, shipped) == ["CartpoleBalance.nu: shipped 7, built 1"]
    assert compare(built, {"scenes": {}}) == ["CartpoleBalance: not in the shipped index"]


def test_explicit_contact_pairs_make_the_g1_feet_floor_contacts() -> None:
    # Playground's G1 gives its feet contype 0 and pairs each with the floor: before, the plan had no
    # feet, the G1 counted as not touching the floor, and the CPU rule sent it to MJX (12 h estimate).
    pairs = floor_pairs(load_scene("G1JoystickFlatTerrain").mj_model)
    assert len(pairs.robot) == 2
    assert packaged_facts("G1JoystickFlatTerrain")["floor_contacts"] == 1


def test_listing_with_no_cards_built_has_sizes_and_estimates_for_every_scene(tmp_path) -> None:
    # A fresh machine: no card cache. Nothing is loaded, yet every scene has its sizes and an estimate.
    env = {**os.environ, "TABRL_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "tabrl.cli", "scenes", "list", "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [r for r in json.loads(out.stdout) if r["source"] != "mjcf"]
    assert len(rows) >= 60
    assert all(r["nq"] is not None and r["estimate"]["total_s"] > 0 for r in rows), [
        r["id"] for r in rows if r["nq"] is None or "estimate" not in r
    ]
    assert not (tmp_path / "cards").exists() or not any((tmp_path / "cards").iterdir())
    g1 = next(r for r in rows if r["id"] == "G1JoystickFlatTerrain")
    assert g1["estimate"]["backend"] == "mujoco"


@pytest.mark.heavy
def test_the_whole_shipped_index_agrees_with_fresh_cards() -> None:
    """`tabrl scenes index --check` (builds every scene's card: a few minutes)."""
    out = subprocess.run(
        [sys.executable, "-m", "tabrl.cli", "scenes", "index", "--check"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
