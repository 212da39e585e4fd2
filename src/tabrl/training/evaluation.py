"""Policy evaluation: full-length episodes, one jitted function, compiled once per run.

TabRL evaluates outside Brax's loop (Brax's own evaluator compiles its reset separately and
recompiles when the parameters' weak types change after the first update -- two extra MJX
compiles, tens of seconds on CPU) and on the scene's full episode length even when training
uses shorter episodes.

Two things keep the evaluation's share of a cold start small:

- It runs under `pmap` with Brax's axis name, the trace context Brax's training traces the env in,
  so the env's shared `reset` trace (`SharedTraceEnv`) is reused rather than traced again.
- On CPU it is compiled with XLA:CPU's older loop emitters (`EVAL_COMPILER_OPTIONS_CPU`): half
  the compile time of the default fusion emitters for the same rollout; an evaluation then takes
  ~0.05 s instead of ~0.04 s, the compile happens once per run (bench/README.md has the figures).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tabrl.training.envs import PMAP_AXIS_NAME


@dataclass(frozen=True)
class EvalResult:
    """Aggregates over the evaluation episodes."""

    reward_mean: float
    reward_std: float
    #: Mean per-episode sum of each `reward/<name>` metric, keyed by name.
    reward_terms: dict[str, float]
    episode_length: float
    #: Other per-episode metric sums (e.g. Playground's `task/...`).
    other_metrics: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0


#: XLA:CPU options for the evaluation program: the older loop emitters compile an MJX rollout in
#: about half the time (measured: 4.2 s -> 2.1 s cold for CartpoleBalance). Applied to this one
#: program only: under them Brax's training epoch ran ~25 % slower (its SGD has many small fusions).
EVAL_COMPILER_OPTIONS_CPU: dict[str, Any] = {"xla_cpu_use_fusion_emitters": False}


class Evaluator:
    """Runs `num_envs` episodes of `episode_length` steps with a policy; returns `EvalResult`."""

    def __init__(
        self,
        env: Any,
        make_policy: Any,
        *,
        num_envs: int,
        episode_length: int,
        action_repeat: int,
        deterministic: bool,
        seed: int,
    ) -> None:
        import jax
        from brax.envs.wrappers import training as brax_training
        from brax.training import acting
        from mujoco_playground import wrapper

        eval_env = brax_training.EvalWrapper(
            wrapper.wrap_for_brax_training(env, episode_length=episode_length, action_repeat=action_repeat)
        )
        unroll_steps = max(1, episode_length // action_repeat)

        def run(params: Any, key: jax.Array) -> Any:
            key_reset, key_unroll = jax.random.split(key)
            state = eval_env.reset(jax.random.split(key_reset, num_envs))
            policy = make_policy(params, deterministic=deterministic)
            state, _ = acting.generate_unroll(eval_env, state, policy, key_unroll, unroll_length=unroll_steps)
            return state.info["eval_metrics"]

        self._run = jax.pmap(run, axis_name=PMAP_AXIS_NAME)
        self._compiled: Future[Any] | None = None
        self._signature: Any = None
        self._key = jax.random.PRNGKey(seed + 7919)

    def prepare(self, params: Any) -> None:
        """Trace the evaluation for `params`' shapes now and compile it in a background thread.

        For the first callback of a run from scratch, which has nothing to evaluate yet: the
        compile then overlaps Brax's tracing of its training epoch (Python, one core) instead of
        delaying the first evaluation. The next call waits for it.
        """
        import jax

        self._program(_with_device_axis((params, jax.random.PRNGKey(0))), background=True)

    def _program(self, args: tuple[Any, Any], background: bool = False) -> Any:
        """The compiled evaluation for these argument shapes (compiled on first use, then reused)."""
        import jax

        signature = jax.tree.map(lambda x: (x.shape, x.dtype), args)
        if self._compiled is None or signature != self._signature:
            options = EVAL_COMPILER_OPTIONS_CPU if jax.default_backend() == "cpu" else None
            lowered = self._run.lower(*args)
            self._signature = signature
            if background:
                self._compiled = _compile_in_background(lowered, options)
                return None
            self._compiled = Future()
            self._compiled.set_result(lowered.compile(compiler_options=options))
        return self._compiled.result()

    def __call__(self, params: Any) -> EvalResult:
        import jax

        start = time.perf_counter()
        self._key, key = jax.random.split(self._key)
        args = _with_device_axis((params, key))
        metrics = jax.tree.map(lambda x: np.asarray(x)[0], self._program(args)(*args))
        episode = {
            name: np.asarray(value, dtype=np.float64) for name, value in metrics.episode_metrics.items()
        }
        rewards = episode.pop("reward")
        terms = {
            k.removeprefix("reward/"): float(v.mean()) for k, v in episode.items() if k.startswith("reward/")
        }
        other = {k: float(v.mean()) for k, v in episode.items() if not k.startswith("reward/")}
        return EvalResult(
            reward_mean=float(rewards.mean()),
            reward_std=float(rewards.std()),
            reward_terms=terms,
            episode_length=float(np.asarray(metrics.episode_steps).mean()),
            other_metrics=other,
            wall_s=time.perf_counter() - start,
        )


def _compile_in_background(lowered: Any, options: dict[str, Any] | None) -> Future[Any]:
    """`lowered.compile(...)` in a daemon thread (XLA releases the GIL while it compiles)."""
    future: Future[Any] = Future()

    def work() -> None:
        try:
            future.set_result(lowered.compile(compiler_options=options))
        except BaseException as exc:  # handed to the caller of result()
            future.set_exception(exc)

    threading.Thread(target=work, name="tabrl-eval-compile", daemon=True).start()
    return future


def _with_device_axis(tree: Any) -> Any:
    """Host copies with a leading axis of 1 (one device) and canonical, strong dtypes.

    NumPy on the host rather than `x[None]` in JAX: eager JAX ops compile a small program per
    new shape, and NumPy arrays carry no weak types (Brax's change after the first update).
    """
    import jax

    def leaf(x: Any) -> np.ndarray:
        x = np.asarray(x)
        return np.expand_dims(x.astype(jax.dtypes.canonicalize_dtype(x.dtype), copy=False), 0)

    return jax.tree.map(leaf, jax.device_get(tree))


__all__ = ["EVAL_COMPILER_OPTIONS_CPU", "PMAP_AXIS_NAME", "EvalResult", "Evaluator"]
