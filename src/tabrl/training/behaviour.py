"""What a trained policy's robot did: success checks judged on deterministic, seeded rollouts.

`evaluate_check(policy_dir, check)` rolls the policy out `ROLLOUTS` times for `ROLLOUT_SECONDS`
(seeds 0..n-1, deterministic actions) on the backend it was trained on -- a jitted MJX scan, or
MuJoCo C -- evaluates the check's `measure(s)` at every control step and judges the episode means
against its goals (`tabrl.rewards.checks.judge`). The same seeds for every approach of a prompt,
so their figures compare.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tabrl.rewards.checks import ROLLOUT_SECONDS, ROLLOUTS, SuccessCheck, Verdict, compile_success, judge


def evaluate_check(
    policy_dir: Path | str,
    check: SuccessCheck | str,
    *,
    rollouts: int = ROLLOUTS,
    seconds: float = ROLLOUT_SECONDS,
    seed: int = 0,
) -> Verdict:
    """Roll the policy out and judge `check` (a compiled check, or its source) on it."""
    from tabrl.policies import load_policy, read_manifest
    from tabrl.runtime import configure_jax

    configure_jax()
    manifest = read_manifest(policy_dir)
    if isinstance(check, str):
        check = compile_success(check, manifest.scene_id)
    policy = load_policy(policy_dir)
    if manifest.backend == "mujoco":
        measures, alive, dt = _rollout_mujoco(manifest, policy, check, rollouts, seconds, seed)
    else:
        measures, alive, dt = _rollout_mjx(manifest, policy, check, rollouts, seconds, seed)
    return judge(check, measures, alive, dt)


def _rollout_mujoco(
    manifest: Any, policy: Any, check: SuccessCheck, rollouts: int, seconds: float, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    from tabrl.training.backends.mujoco import policy_env

    # One env per seed would be exact per-seed determinism; one batched env seeded once is the same
    # set of rollouts every time, which is what comparing approaches needs.
    env = policy_env(manifest, num_envs=rollouts, seed=seed, episode_length=10**9)
    steps = max(1, round(seconds / env.dt))
    obs = env.reset()
    alive = np.ones((rollouts, steps), bool)
    series: dict[str, list[np.ndarray]] = {name: [] for name in check.names}
    ended = np.zeros(rollouts, bool)
    for t in range(steps):
        out = env.step(policy.numpy(obs))
        # Measure before a terminated simulation's reset shows: the env has already reset those rows,
        # and they are masked out from this step on anyway.
        ended |= out.done & ~out.truncation
        alive[:, t] = ~ended
        for name, value in env.measure(check.measure).items():
            series[name].append(value)
        obs = out.obs
    return {k: np.stack(v, axis=1) for k, v in series.items()}, alive, float(env.dt)


def _rollout_mjx(
    manifest: Any, policy: Any, check: SuccessCheck, rollouts: int, seconds: float, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    import jax
    import jax.numpy as jnp

    from tabrl.rewards.state import SemanticState
    from tabrl.training.envs import mjx_policy_env

    tenv = mjx_policy_env(manifest)
    env, key = tenv.env, manifest.network.policy_obs_key
    steps = max(1, round(seconds / float(env.dt)))
    index = check.measure.index

    def one(rng: jax.Array) -> tuple[dict[str, jax.Array], jax.Array]:
        state = env.reset(rng)

        def body(s: Any, _: Any) -> tuple[Any, tuple[dict[str, jax.Array], jax.Array]]:
            action = policy(s.obs[key] if isinstance(s.obs, dict) else s.obs)
            s = env.step(s, action)
            values = check.measure.raw_terms(SemanticState(index, s.data, action), action)
            return s, (values, s.done > 0)

        _, (values, done) = jax.lax.scan(body, state, None, length=steps)
        return values, jnp.cumsum(done) == 0

    keys = jax.random.split(jax.random.PRNGKey(seed), rollouts)
    values, alive = jax.jit(jax.vmap(one))(keys)
    return {k: np.asarray(v) for k, v in values.items()}, np.asarray(alive), float(env.dt)


__all__ = ["evaluate_check"]
