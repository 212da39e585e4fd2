"""Policy evaluation: full-length episodes, one jitted function, compiled once per run.

TabRL evaluates outside Brax's loop (Brax's own evaluator compiles its reset separately and
recompiles when the parameters' weak types change after the first update -- two extra MJX
compiles, tens of seconds on CPU) and on the scene's full episode length even when training
uses shorter episodes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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


def strip_weak_types(tree: Any) -> Any:
    """Same values, strong dtypes: keeps jit from recompiling when Brax's params change weak types."""
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda x: jnp.asarray(x, dtype=jnp.asarray(x).dtype), tree)


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

        self._run = jax.jit(run)
        self._key = jax.random.PRNGKey(seed + 7919)

    def __call__(self, params: Any) -> EvalResult:
        import jax

        start = time.perf_counter()
        self._key, key = jax.random.split(self._key)
        metrics = jax.device_get(self._run(strip_weak_types(params), key))
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


__all__ = ["EvalResult", "Evaluator", "strip_weak_types"]
