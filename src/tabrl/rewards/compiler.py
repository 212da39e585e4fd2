"""Check and compile reward programs against a real scene.

Pipeline of `check_reward` / `compile_reward` (each stage only runs if the previous passed):

1. sandbox: size limits, parse, AST allow-list, instrument, exec in a restricted namespace;
2. trace: `jax.make_jaxpr` of `compute_reward` (and `is_terminated`) on the scene's real
   `mjx.Data` structure -- names are resolved here, shapes and types are checked, and the
   jaxpr is bounded (equation count, largest intermediate array) before XLA sees it;
3. values: the reward, jitted, on a few states simulated with MuJoCo C (the reference pose
   and a few random-action rollouts) -- every term must be finite;
4. environment (optional): `env_check=True` runs `jax.eval_shape` of the reward-driven
   env's reset + step, proving the reward plugs into the physics step; `full=True` jits and
   runs one reset + step. Both cost the physics trace / compile of the scene (CartpoleBalance
   about 2 s / 15 s, CheetahRun about 14 s to trace on a 2-core CPU), which is why stages 2-3 --
   the reward alone, on real scene data -- are the default: they cover everything the reward
   program controls (names, shapes, types, values, termination) in well under a second.

Stages 1-3, the scene context and `CompiledReward` are in `tabrl.rewards.program` (re-exported here);
this module adds stage 4 and the entry points.
"""

from __future__ import annotations

import time

import numpy as np

from tabrl.rewards import sandbox

# Stages 1-3 and the types they build live in `program`, which `tabrl.rewards.env` imports: the
# environment compiles rewards, and stage 4 below builds an environment, so keeping them here would
# make `compiler` and `env` import each other. Re-exported: callers import them from here.
from tabrl.rewards.program import (
    COMPILE_TIME_LIMIT_S,
    MAX_ARRAY_ELEMENTS,
    MAX_JAXPR_EQNS,
    MAX_REWARD_FLOPS,
    MAX_REWARD_MAGNITUDE,
    MAX_TERMS,
    PROBE_TIMES_S,
    CompiledReward,
    SceneContext,
    assignment_line,
    compile_program,
    mjx_compatible,
    scene_context,
)
from tabrl.rewards.result import CheckResult, RewardCompileError, RewardError
from tabrl.scenes.loader import LoadedScene

__all__ = [
    "COMPILE_TIME_LIMIT_S",
    "MAX_ARRAY_ELEMENTS",
    "MAX_JAXPR_EQNS",
    "MAX_REWARD_FLOPS",
    "MAX_REWARD_MAGNITUDE",
    "MAX_TERMS",
    "PROBE_TIMES_S",
    "CompiledReward",
    "SceneContext",
    "assignment_line",
    "check_reward",
    "compile_measure",
    "compile_reward",
    "mjx_compatible",
    "scene_context",
]


def _compile(
    code: str,
    scene: str | LoadedScene,
    *,
    env_check: bool,
    full: bool,
    time_limit_s: float,
    contract: str = "reward",
) -> tuple[CompiledReward | None, list[RewardError], list[str]]:
    compiled, errors, terms = compile_program(code, scene, time_limit_s=time_limit_s, contract=contract)
    if compiled is not None and (env_check or full):
        # The context compile_program used (cached per process: this is a lookup).
        errors = _check_env(compiled, scene_context(scene), full)
    return (None if errors else compiled), errors, terms


def _check_env(reward: CompiledReward, ctx: SceneContext, full: bool) -> list[RewardError]:
    import jax

    from tabrl.rewards.env import make_env

    try:
        env = make_env(ctx.loaded, reward)
        rng = jax.random.PRNGKey(0)
        if full:
            state = jax.jit(env.reset)(rng)
            state = jax.jit(env.step)(state, jax.numpy.zeros(env.action_size))
            if not bool(np.isfinite(np.asarray(state.reward))):
                return [
                    RewardError(
                        None,
                        "the reward is not finite after one environment step; guard divisions "
                        "and square roots",
                    )
                ]
        else:
            state = jax.eval_shape(env.reset, rng)
            jax.eval_shape(env.step, state, jax.ShapeDtypeStruct((env.action_size,), np.float32))
    except RewardCompileError as exc:
        return exc.errors
    except Exception as exc:
        return [sandbox.error_from_exception(exc, "while building the environment step")]
    return []


def check_reward(
    code: str,
    scene: str | LoadedScene,
    *,
    env_check: bool = False,
    full: bool = False,
    time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S,
) -> CheckResult:
    """Check a reward program against a scene. Never raises because of the program.

    `env_check` also traces the reward-driven environment's reset + step abstractly
    (`jax.eval_shape`); `full` jits and runs one reset + step instead (slower: it
    compiles the physics). Scene problems (unknown scene id...) still raise TabRLError.
    """
    start = time.perf_counter()
    try:
        _, errors, terms = _compile(code, scene, env_check=env_check, full=full, time_limit_s=time_limit_s)
    except RewardCompileError as exc:
        errors, terms = exc.errors, []
    return CheckResult(valid=not errors, terms=terms, errors=errors, duration_s=time.perf_counter() - start)


def compile_measure(
    code: str, scene: str | LoadedScene, *, time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S
) -> tuple[CompiledReward | None, list[RewardError]]:
    """A success check's `measure(s)` (`tabrl.rewards.checks`), checked and compiled like a reward:
    its named values are the terms (unweighted). (None, errors) when invalid."""
    try:
        compiled, errors, _ = _compile(
            code, scene, env_check=False, full=False, time_limit_s=time_limit_s, contract="success"
        )
    except RewardCompileError as exc:
        return None, exc.errors
    return compiled, errors


def compile_reward(
    code: str,
    scene: str | LoadedScene,
    *,
    env_check: bool = False,
    time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S,
) -> CompiledReward:
    """Check and compile a reward program; raises RewardCompileError (with every error) when invalid."""
    compiled, errors, _ = _compile(code, scene, env_check=env_check, full=False, time_limit_s=time_limit_s)
    if compiled is None:
        raise RewardCompileError(errors)
    return compiled
