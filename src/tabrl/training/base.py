"""Base policies: how each one shipped with TabRL is trained (`tabrl base train <id>`).

A base policy is a small trained policy a scene starts from: level 1 plays it with command
programs (a joystick policy follows velocity commands), level 2 fine-tunes it to a new reward.
Each recipe here is the whole, exact definition of one -- scene, stages (reward, steps, settings)
and seed -- so the artifact in the package (`tabrl.scenes.bases`) can be rebuilt with one command.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabrl.errors import NotFoundError, TabRLError, did_you_mean
from tabrl.scenes.bases import BASE_MANIFEST_KEY, shipped_dir, user_dir


@dataclass(frozen=True)
class Stage:
    """One stage of a recipe: PPO on a reward for some steps. The first starts from scratch; each
    later one continues from the previous stage's policy (random commands, from-scratch rates unless
    its overrides say otherwise)."""

    name: str
    #: Reference reward name (`tabrl reward list`); None: the scene's own task reward.
    reward: str | None
    steps: int
    overrides: dict[str, Any] = field(default_factory=dict)
    #: "ppo"; or "mirror": the previous policy learns its own mirror image for clockwise yaw commands
    #: (`tabrl.training.mirror.mirror_distill`; no reward, `steps` simulated steps to learn from).
    method: str = "ppo"


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
    stages: tuple[Stage, ...]
    #: Settings of every stage.
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    #: A joystick policy that follows yaw-rate commands (measured; the composer leaves turning
    #: routines out for one that does not).
    turns: bool = True

    @property
    def steps(self) -> int:
        """Steps of all stages."""
        return sum(s.steps for s in self.stages)

    def command(self) -> str:
        """The command that reproduces this base policy."""
        return f"tabrl base train {self.id}"


#: Continuing stages learn new skills: the from-scratch rates, not the gentle fine-tuning ones.
_LEARN = {"learning_rate": 1e-3, "entropy_cost": 5e-3}

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
                "Walks at the commanded forward and sideways speed (forward +-1.0 m/s, sideways +-0.5 m/s), "
                "stands still at zero, and turns both ways (about 0.6 rad/s for a +-1.0 rad/s command, on the "
                "spot or while walking; small yaw commands, under 0.3 rad/s, hardly turn it)."
            ),
            # Measured on 2 cores: from scratch on random commands the Go1 kept standing (6 M steps:
            # standing scores well on the many small commands). So: walk forward first (the reward
            # that walks in 1.8 M steps, bench/train_go1_cpu.py); then follow commands, which gave
            # forward, backward, sideways and standing by 10 M steps; then the same tracking with
            # turning weighted up. With the heading in the observation (a world quaternion) it never
            # turned (0.03 rad/s for a 1.0 command): a turning robot saw states it had not trained on.
            # With gravity in the base frame instead it turned counter-clockwise (0.60 rad/s) but not
            # clockwise (-0.10); 4 M more steps of the turning stage did not change that, and a PPO
            # mirror loss (symmetry_cost 0.2 and 1.0) unlearned walking backwards and sideways within
            # 0.7 M steps. The last stage instead teaches it its own mirror image for clockwise
            # commands (supervised, on its own states: nothing else changes): yaw -1.0 -> -0.56 rad/s.
            # Every stage sees random commands, so the observation normaliser knows their spread (after a constant command, any other one was scaled by a
            # near-zero std and the robot fell at once).
            stages=(
                Stage("walk", "go1_walk_forward", 2_500_000),
                Stage("track", "go1_joystick", 10_000_000, _LEARN),
                Stage("turn", "go1_joystick_turn", 4_000_000, _LEARN),
                Stage("mirror", None, 800_000, method="mirror"),
            ),
            overrides={"backend": "mujoco", "command_range": (1.0, 0.5, 1.0), "command_resample_s": 5.0},
        ),
        BaseRecipe(
            id="cartpole-balance",
            scene_id="CartpoleBalance",
            title="Cartpole balance",
            kind="task",
            description="Keeps the pole upright with the cart near the centre (the task's own reward).",
            stages=(Stage("balance", None, 2_000_000),),
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
    start_stage: int = 0,
    start_from: Path | None = None,
) -> Path:
    """Train the base policy `key` (a base id or a scene id), stage by stage, and install it; its folder.

    Installed into `<TABRL_HOME>/base_policies/<id>` (which takes precedence over the shipped one),
    into the package's own assets with `into_package` (maintainers refreshing a shipped policy), or
    into `out`. `steps` replaces the last stage's budget (a quicker, lesser policy). `start_stage` with
    `start_from` (a base folder this recipe installed after the stages before it) continues a recipe.
    """
    recipe = get_recipe(key)
    if (start_stage > 0) != (start_from is not None) or not 0 <= start_stage < len(recipe.stages):
        raise TabRLError(f"continue {recipe.id} at a stage 1..{len(recipe.stages) - 1} from a base folder")
    target = out or (shipped_dir() / recipe.id if into_package else user_dir() / recipe.id)
    work = target.parent / f".{recipe.id}.run"
    shutil.rmtree(work, ignore_errors=True)
    start = time.perf_counter()
    done: list[dict[str, Any]] = []
    curve: list[dict[str, Any]] = []
    wall_before = 0.0
    previous = None
    if start_from is not None:
        previous = _copy(start_from, work / "start")
        earlier = json.loads((previous / "manifest.json").read_text())
        done = [
            _stage_entry(st, int(d["steps"]))
            for st, d in zip(
                recipe.stages[:start_stage], earlier[BASE_MANIFEST_KEY]["stages"][:start_stage], strict=True
            )
        ]
        curve = list(earlier.get("metrics", []))
        wall_before = float(earlier[BASE_MANIFEST_KEY].get("train_wall_s") or 0.0)
    for i, stage in enumerate(recipe.stages):
        if i < start_stage:
            continue
        last = i == len(recipe.stages) - 1
        stage_steps = steps if (last and steps) else stage.steps
        policy = _run_stage(recipe, stage, stage_steps, work / stage.name, previous, on_event)
        manifest = json.loads((policy / "manifest.json").read_text())
        offset = sum(int(s["steps"]) for s in done)
        curve += [{**m, "step": m["step"] + offset} for m in manifest.get("metrics", [])]
        done.append(_stage_entry(stage, int(manifest["steps"])))
        previous = policy
    assert previous is not None
    custom = steps if steps not in (None, recipe.stages[-1].steps) else None
    _install(recipe, previous, target, wall_before + time.perf_counter() - start, custom, done, curve)
    shutil.rmtree(work, ignore_errors=True)
    return target


def _run_stage(
    recipe: BaseRecipe,
    stage: Stage,
    steps: int,
    out_dir: Path,
    previous: Path | None,
    on_event: Callable[[Any], None] | None,
) -> Path:
    """One stage: from scratch, or continuing `previous` with random commands; its policy folder."""
    if stage.method == "mirror":
        from tabrl.training.mirror import mirror_distill

        if previous is None:
            raise TabRLError(f"stage {stage.name} mirrors the previous stage's policy: it cannot come first")
        return mirror_distill(previous, out_dir, steps=steps, seed=recipe.seed)
    from tabrl.rewards.reference import get_reference
    from tabrl.runtime import device_kind
    from tabrl.training.config import resolve_config
    from tabrl.training.runner import TrainRequest, run_training

    reward = get_reference(stage.reward).code if stage.reward else None
    overrides = [f"{k}={_value(v)}" for k, v in {**recipe.overrides, **stage.overrides}.items()]
    overrides.append(f"seed={recipe.seed}")
    config = resolve_config(
        recipe.scene_id, overrides=overrides, steps=steps, device=device_kind(), reward_source=reward,
        base_dir=previous,
    )  # fmt: skip
    request = TrainRequest(
        scene_id=recipe.scene_id, out_dir=out_dir, config=config, reward_source=reward,
        reward_name=stage.reward or "task", run_id=f"base-{recipe.id}-{stage.name}", base_policy=previous,
        random_commands=previous is not None,
    )  # fmt: skip
    return run_training(request, on_event=on_event).policy_dir


def _stage_entry(stage: Stage, steps: int) -> dict[str, Any]:
    """What the installed manifest records of a stage it went through."""
    entry = {"name": stage.name, "reward": stage.reward, "steps": steps, "overrides": stage.overrides}
    return entry if stage.method == "ppo" else {**entry, "method": stage.method}


def _copy(folder: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder, to)
    return to


def _value(v: Any) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, tuple | list) else str(v)


def _install(
    recipe: BaseRecipe,
    policy_dir: Path,
    target: Path,
    wall_s: float,
    custom_steps: int | None,
    stages: list[dict[str, Any]],
    curve: list[dict[str, Any]],
) -> None:
    """Copy the final policy's params and manifest into `target`, with the base entry (stages, the
    command that reproduces it), the whole curve across stages (also as curve.csv)."""
    from tabrl.runtime import device_kind

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copy2(policy_dir / "params.msgpack", tmp / "params.msgpack")
    manifest = json.loads((policy_dir / "manifest.json").read_text())
    # The stages are one recipe: the shipped policy reads as trained from scratch, in stages.
    manifest.update(
        base_policy=None, level="from_scratch", steps=sum(int(s["steps"]) for s in stages), metrics=curve,
        id=f"base-{recipe.id}",
    )  # fmt: skip
    manifest[BASE_MANIFEST_KEY] = {
        "id": recipe.id,
        "title": recipe.title,
        "kind": recipe.kind,
        "description": recipe.description,
        "reproduce": recipe.command() + (f" --steps {custom_steps}" if custom_steps else ""),
        "trained_on": device_kind(),
        "train_wall_s": round(wall_s, 1),
        "stages": stages,
        "turns": recipe.turns,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    rows = ["step,eval_reward_mean,episode_length,elapsed_s"]
    for m in curve:
        rows.append(f"{m['step']},{m['eval_reward_mean']:.4f},{m['episode_length']:.1f},{m['elapsed_s']:.1f}")
    (tmp / "curve.csv").write_text("\n".join(rows) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)


__all__ = ["BASE_RECIPES", "BaseRecipe", "Stage", "get_recipe", "train_base"]
