"""Base policies: how each one shipped with TabRL is trained (`tabrl base train <id>`).

A base policy is a small trained policy a scene starts from: level 1 plays it with command
programs (a joystick policy follows velocity commands), level 2 fine-tunes it to a new reward.
Each recipe here is the whole, exact definition of one: scene, reward, settings and steps, so
the artifact in the package (`tabrl.scenes.bases`) can be rebuilt by anyone with one command.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabrl.errors import NotFoundError, did_you_mean
from tabrl.scenes.bases import BASE_MANIFEST_KEY, shipped_dir, user_dir


@dataclass(frozen=True)
class BaseRecipe:
    """How one base policy is trained."""

    id: str
    scene_id: str
    title: str
    #: "joystick": follows velocity commands (level 1 plays command programs on it); "task": the
    #: scene's own task, a starting point for fine-tuning.
    kind: str
    description: str
    #: Reference reward name (`tabrl reward list`); None: the scene's own task reward.
    reward: str | None
    steps: int
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    #: A first stage of `warmup_steps` from scratch on `warmup_reward` (e.g. walk forward), which the
    #: main stage (`steps`) then continues from; both see random commands. 0: one stage.
    warmup_steps: int = 0
    #: Reference reward of the warm-up (None: the recipe's `reward`).
    warmup_reward: str | None = None
    #: Settings of the main stage when it continues a warm-up (it learns new skills: from-scratch rates).
    continue_overrides: dict[str, Any] = field(default_factory=dict)

    def command(self) -> str:
        """The command that reproduces this base policy."""
        return f"tabrl base train {self.id}"


#: Every base policy TabRL ships, by id. The numbers are what produced the shipped artifacts.
BASE_RECIPES: dict[str, BaseRecipe] = {
    r.id: r
    for r in (
        BaseRecipe(
            id="go1-joystick",
            scene_id="Go1JoystickFlatTerrain",
            title="Go1 joystick",
            kind="joystick",
            description=(
                "Walks at the commanded forward and sideways speed and turns at the commanded yaw rate "
                "(forward +-1.0 m/s, sideways +-0.5 m/s, yaw +-1.0 rad/s), or stands still at zero."
            ),
            reward="go1_joystick",
            # From scratch on random commands the Go1 kept standing (6 M steps: standing scores well
            # on the many small commands); walking forward first (the reward that walks in 1.8 M
            # steps, bench/train_go1_cpu.py) gives the gait that the commands then modulate. The
            # warm-up sees random commands too (its reward ignores them) so that the observation
            # normaliser knows their spread: after a constant warm-up command, any other one was
            # scaled by a near-zero std and the robot fell at once.
            warmup_reward="go1_walk_forward",
            warmup_steps=2_500_000,
            steps=10_000_000,
            overrides={"backend": "mujoco", "command_range": (1.0, 0.5, 1.0), "command_resample_s": 5.0},
            continue_overrides={"learning_rate": 1e-3, "entropy_cost": 5e-3},
        ),
        BaseRecipe(
            id="cartpole-balance",
            scene_id="CartpoleBalance",
            title="Cartpole balance",
            kind="task",
            description="Keeps the pole upright with the cart near the centre (the task's own reward).",
            reward=None,
            steps=2_000_000,
            overrides={"backend": "mjx"},
        ),
    )
}


def get_recipe(key: str) -> BaseRecipe:
    """A recipe by base id, or the recipe of a scene id."""
    if key in BASE_RECIPES:
        return BASE_RECIPES[key]
    for recipe in BASE_RECIPES.values():
        if recipe.scene_id == key:
            return recipe
    names = [*BASE_RECIPES, *(r.scene_id for r in BASE_RECIPES.values())]
    raise NotFoundError(
        f"no base-policy recipe for {key!r}.{did_you_mean(key, names)} Known: {', '.join(BASE_RECIPES)}"
    )


def train_base(
    key: str,
    *,
    into_package: bool = False,
    out: Path | None = None,
    steps: int | None = None,
    on_event: Callable[[Any], None] | None = None,
) -> Path:
    """Train the base policy `key` (a base id or a scene id) and install it; its folder.

    Installed into `<TABRL_HOME>/base_policies/<id>` (which takes precedence over the shipped one),
    into the package's own assets with `into_package` (maintainers refreshing a shipped policy), or
    into `out`. `steps` overrides the recipe's budget (a quicker, lesser policy).
    """
    from tabrl.rewards.reference import get_reference
    from tabrl.runtime import device_kind
    from tabrl.training.config import resolve_config
    from tabrl.training.runner import TrainRequest, run_training

    recipe = get_recipe(key)
    reward = get_reference(recipe.reward).code if recipe.reward else None
    overrides = [f"{k}={_value(v)}" for k, v in recipe.overrides.items()]
    overrides.append(f"seed={recipe.seed}")
    target = out or (shipped_dir() / recipe.id if into_package else user_dir() / recipe.id)
    work = target.parent / f".{recipe.id}.run"
    shutil.rmtree(work, ignore_errors=True)
    start = time.perf_counter()
    base_dir = None
    if recipe.warmup_steps:
        warm_reward = get_reference(recipe.warmup_reward).code if recipe.warmup_reward else reward
        warm = resolve_config(
            recipe.scene_id, overrides=overrides, steps=recipe.warmup_steps, device=device_kind(),
            reward_source=warm_reward,
        )  # fmt: skip
        base_dir = run_training(
            TrainRequest(
                scene_id=recipe.scene_id, out_dir=work / "warmup", config=warm, reward_source=warm_reward,
                reward_name=recipe.warmup_reward or recipe.reward or "task", run_id=f"base-{recipe.id}-warmup",
            ),
            on_event=on_event,
        ).policy_dir  # fmt: skip
        overrides += [f"{k}={_value(v)}" for k, v in recipe.continue_overrides.items()]
    config = resolve_config(
        recipe.scene_id, overrides=overrides, steps=steps or recipe.steps, device=device_kind(),
        reward_source=reward, base_dir=base_dir,
    )  # fmt: skip
    result = run_training(
        TrainRequest(
            scene_id=recipe.scene_id, out_dir=work / "main", config=config, reward_source=reward,
            reward_name=recipe.reward or "task", run_id=f"base-{recipe.id}", base_policy=base_dir,
            random_commands=base_dir is not None,
        ),
        on_event=on_event,
    )  # fmt: skip
    wall = time.perf_counter() - start
    custom = steps if steps not in (None, recipe.steps) else None
    _install(recipe, result.policy_dir, target, wall, custom, warmup_dir=base_dir)
    shutil.rmtree(work, ignore_errors=True)
    return target


def _value(v: Any) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, tuple | list) else str(v)


def _install(
    recipe: BaseRecipe,
    policy_dir: Path,
    target: Path,
    wall_s: float,
    custom_steps: int | None,
    warmup_dir: Path | None = None,
) -> None:
    """Copy the policy's params and manifest into `target`, with the base entry, the curve and the
    command that reproduces it."""
    from tabrl.runtime import device_kind

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(policy_dir / "params.msgpack", tmp / "params.msgpack")
    manifest = json.loads((policy_dir / "manifest.json").read_text())
    stages = [{"name": "main", "steps": manifest.get("steps"), "commands": "random"}]
    curve = list(manifest.get("metrics", []))
    if warmup_dir is not None:
        # Both stages are one recipe: the shipped policy reads as trained from scratch, in two stages.
        warm = json.loads((warmup_dir / "manifest.json").read_text())
        offset = int(warm.get("steps", 0))
        stages.insert(
            0,
            {
                "name": "warmup",
                "steps": offset,
                "commands": "random",
                "reward": recipe.warmup_reward,
            },
        )
        curve = warm.get("metrics", []) + [{**m, "step": m["step"] + offset} for m in curve]
        manifest.update(base_policy=None, level="from_scratch", steps=offset + int(manifest.get("steps", 0)))
        manifest["metrics"] = curve
    manifest[BASE_MANIFEST_KEY] = {
        "id": recipe.id,
        "title": recipe.title,
        "kind": recipe.kind,
        "description": recipe.description,
        "reproduce": recipe.command() + (f" --steps {custom_steps}" if custom_steps else ""),
        "trained_on": device_kind(),
        "train_wall_s": round(wall_s, 1),
        "stages": stages,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    rows = ["step,eval_reward_mean,episode_length,elapsed_s"]
    for m in curve:
        rows.append(f"{m['step']},{m['eval_reward_mean']:.4f},{m['episode_length']:.1f},{m['elapsed_s']:.1f}")
    (tmp / "curve.csv").write_text("\n".join(rows) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)


__all__ = ["BASE_RECIPES", "BaseRecipe", "get_recipe", "train_base"]
