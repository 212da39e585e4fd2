"""`tabrl scenes ...` through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TABRL = [sys.executable, "-m", "tabrl.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TABRL, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=600)


@pytest.fixture(scope="module")
def listing() -> list[dict]:
    # Listing reads cards built before or the shipped index; a built card wins (CartpoleBalance here).
    assert run("scenes", "show", "CartpoleBalance", "--json").returncode == 0
    out = run("scenes", "list", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_list_json_fields(listing) -> None:
    ids = {row["id"] for row in listing}
    assert len([r for r in listing if r["source"] == "playground" and r["category"]]) >= 25 + 7
    assert {"CartpoleBalance", "Go1JoystickFlatTerrain", "G1JoystickFlatTerrain", "unitree_go1"} <= ids
    # Robots from the asset wheels are listed offline, with their licence.
    assert {"SpotGetup", "PandaPickCube", "H1JoystickGaitTracking", "LeapCubeReorient"} <= ids
    spot = next(r for r in listing if r["id"] == "SpotGetup")
    assert spot["licences"] and "BSD-3-Clause" in spot["licences"][0]
    for row in listing:
        for key in ("id", "name", "category", "source", "nq", "nv", "nu", "obs_size", "action_size"):
            assert key in row, (row["id"], key)
        assert row["source"] in ("playground", "menagerie", "mjcf")
    cartpole = next(r for r in listing if r["id"] == "CartpoleBalance")
    assert cartpole["nu"] == 1 and cartpole["estimate"]["total_s"] > 0


def test_show_go1_json_has_12_actuators_with_ranges() -> None:
    out = run("scenes", "show", "Go1JoystickFlatTerrain", "--json")
    assert out.returncode == 0, out.stderr
    card = json.loads(out.stdout)
    assert len(card["actuators"]) == 12
    assert all(
        len(a["ctrl_range"]) == 2 and a["ctrl_range"][0] < a["ctrl_range"][1] for a in card["actuators"]
    )


def test_show_human_output() -> None:
    out = run("scenes", "show", "CartpoleBalance")
    assert out.returncode == 0 and "slider" in out.stdout and "actuators" in out.stdout


def test_thumbnail_writes_a_real_png(tmp_path) -> None:
    from PIL import Image

    png = tmp_path / "cp.png"
    out = run("scenes", "thumbnail", "CartpoleBalance", "--out", str(png))
    assert out.returncode == 0, out.stderr
    img = Image.open(png)
    assert img.size == (320, 240)
    pixels = list(img.convert("L").getdata())
    assert max(pixels) - min(pixels) > 50  # a rendered scene, not a blank frame


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("scenes", "show", "CartpoleBalanc"), "Did you mean"),
        (("scenes", "show", "anybotics_anymal_c"), "MENAGERIE_ROOT"),
        (("scenes", "thumbnail", "CartpoleBalance", "--out", "x.jpg"), ".png"),
    ],
)
def test_errors_are_one_line_and_nonzero(args, needle) -> None:
    out = run(*args)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip() and "WARNING" not in line]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr
