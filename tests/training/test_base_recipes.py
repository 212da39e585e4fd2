"""Base-policy recipes: found by id or scene, and the shipped artifacts are what they describe."""

from __future__ import annotations

import json

import pytest

from tabrl.errors import NotFoundError, TabRLError
from tabrl.scenes.bases import get_base
from tabrl.training.base import BASE_RECIPES, get_recipe, train_base


def test_recipe_by_id_or_scene() -> None:
    assert get_recipe("go1-joystick") is get_recipe("Go1JoystickFlatTerrain") is BASE_RECIPES["go1-joystick"]
    with pytest.raises(NotFoundError, match="go1-joystick"):
        get_recipe("go1-joystik")


@pytest.mark.parametrize("base_id", sorted(BASE_RECIPES))
def test_shipped_artifact_matches_its_recipe(base_id: str) -> None:
    recipe, base = BASE_RECIPES[base_id], get_base(base_id)
    manifest = json.loads((base.dir / "manifest.json").read_text())
    stages = manifest["base"]["stages"]
    assert [s["name"] for s in stages] == [s.name for s in recipe.stages]
    assert [s["reward"] for s in stages] == [s.reward for s in recipe.stages]
    assert [s.get("method", "ppo") for s in stages] == [s.method for s in recipe.stages]
    # Whole updates: each stage trains at least its budget, by less than one evaluation interval more.
    for done, planned in zip(stages, recipe.stages, strict=True):
        assert planned.steps <= done["steps"] <= planned.steps * 1.1
    assert manifest["steps"] == sum(s["steps"] for s in stages) and base.reproduce == recipe.command()
    assert manifest["config"]["backend"] == recipe.overrides["backend"] == base.backend
    rows = (base.dir / "curve.csv").read_text().splitlines()
    assert rows[0].startswith("step,eval_reward_mean") and len(rows) - 1 == len(manifest["metrics"])


def test_continuing_needs_a_stage_and_a_folder(tmp_path) -> None:
    with pytest.raises(TabRLError, match="stage"):
        train_base("go1-joystick", out=tmp_path / "x", start_stage=1)
