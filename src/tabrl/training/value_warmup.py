"""Value warm-up: fit a fine-tune's fresh value function to the new reward before PPO moves the policy.

Fine-tuning under a new reward starts the value function from scratch (the base's predicts the old
reward). PPO's advantages are then those of a critic that knows nothing, and at fine-tuning's small
learning rate it learns slowly: measured on CartpoleBalance, fine-tuning with the *same* task reward
but a fresh critic fell from 985 to 277 in 0.9 M steps (the kept critic: ~998 throughout), and under
new rewards the evaluation fell likewise whatever the learning rate (1e-5..3e-4), clipping or KL limit.

The base policy plays `num_envs` episodes of the new reward; each state's target is the discounted
return of the scaled reward that followed it (what Brax's value function regresses on), from the states
whose return the episode's end does not cut short; the value network is fitted to them by Adam before
training starts. Pure JAX: `collect` is a jitted scan over the MJX env, `fit` a jitted scan of updates;
the mujoco backend collects in its host loop and fits with the same `fit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WarmupReport:
    """What the warm-up did: samples fitted, the value loss before and after, seconds."""

    samples: int
    loss_before: float
    loss_after: float
    seconds: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dict."""
        return {"samples": float(self.samples), "loss_before": self.loss_before,
                "loss_after": self.loss_after, "seconds": self.seconds}  # fmt: skip


def discounted_returns(rewards: Any, dones: Any, gamma: float) -> Any:
    """(T, N) returns G_t = r_t + gamma * G_{t+1}, cut at each episode's end (`dones` 1 at the last step)."""
    import jax
    import jax.numpy as jnp

    def back(g: Any, x: tuple[Any, Any]) -> tuple[Any, Any]:
        r, d = x
        g = r + gamma * g * (1.0 - d)
        return g, g

    _, out = jax.lax.scan(back, jnp.zeros_like(rewards[0]), (rewards, dones), reverse=True)
    return out


def horizon(gamma: float) -> int:
    """Steps after which a reward weighs < 5 % of one now (discount `gamma` < 1)."""
    return int(np.ceil(np.log(0.05) / np.log(gamma)))


def usable_steps(steps: int, gamma: float) -> int:
    """How many of an episode's first steps have returns the episode's end barely cuts (< 5 % weight);
    at least a quarter of the episode (short episodes, long horizons: cut returns beat no samples)."""
    cut = horizon(gamma) if gamma < 1 else steps // 2
    return max(1, steps // 4, min(steps, steps - cut))


def collect(env: Any, policy: Any, key: Any, num_envs: int, steps: int) -> tuple[Any, Any, Any]:
    """(observations, rewards, dones), each (steps, num_envs, ...), of `policy(obs, key) -> (action, _)`
    from fresh episodes of the (single, unbatched) MJX `env`; after an episode ends its rewards are 0."""
    import jax
    import jax.numpy as jnp

    reset, step = jax.vmap(env.reset), jax.vmap(env.step)

    def body(carry: Any, _: Any) -> Any:
        state, alive, key = carry
        key, sub = jax.random.split(key)
        action, _ = policy(state.obs, sub)
        nxt = step(state, action)
        done = jnp.maximum(nxt.done.astype(jnp.float32), 1.0 - alive)
        return (nxt, alive * (1.0 - nxt.done.astype(jnp.float32)), key), (state.obs, nxt.reward * alive, done)

    key, sub = jax.random.split(key)
    state = reset(jax.random.split(sub, num_envs))
    carry = (state, jnp.ones((num_envs,), jnp.float32), key)
    _, (obs, rewards, dones) = jax.lax.scan(body, carry, None, length=steps)
    return obs, rewards, dones


def fit(
    value_apply: Any,
    normalizer_params: Any,
    value_params: Any,
    obs: Any,
    targets: Any,
    *,
    updates: int,
    learning_rate: float,
    batch_size: int,
    key: Any,
) -> tuple[Any, float, float]:
    """`value_params` fitted to `targets` (M,) from `obs` (M, ...) by `updates` Adam steps on random
    minibatches; (params, mean squared error before, after)."""
    import jax
    import jax.numpy as jnp
    import optax

    optimizer = optax.adam(learning_rate)
    count = int(targets.shape[0])

    def loss(params: Any, o: Any, t: Any) -> Any:
        return jnp.mean(jnp.square(value_apply(normalizer_params, params, o) - t))

    def update(carry: Any, k: Any) -> Any:
        params, opt = carry
        idx = jax.random.randint(k, (batch_size,), 0, count)
        o = jax.tree.map(lambda x: x[idx], obs)
        value, grads = jax.value_and_grad(loss)(params, o, targets[idx])
        changes, opt = optimizer.update(grads, opt, params)
        return (optax.apply_updates(params, changes), opt), value

    @jax.jit
    def run(params: Any, key: Any) -> tuple[Any, Any, Any]:
        before = loss(params, obs, targets)
        (params, _), _ = jax.lax.scan(
            update, (params, optimizer.init(params)), jax.random.split(key, updates)
        )
        return params, before, loss(params, obs, targets)

    params, before, after = run(value_params, key)
    return params, float(before), float(after)


def warm_up_value(
    env: Any,
    ppo_network: Any,
    params: tuple[Any, Any, Any],
    *,
    episode_length: int,
    num_envs: int,
    discounting: float,
    reward_scaling: float,
    seed: int,
    updates: int = 500,
    learning_rate: float = 1e-3,
    batch_size: int = 1024,
) -> tuple[tuple[Any, Any, Any], WarmupReport]:
    """(normalizer, policy, fitted value) params and a report: the base `params`' policy plays
    `num_envs` episodes of `episode_length` steps on `env` (its stochastic policy, as PPO's data is), and
    the value network is fitted to the scaled discounted returns of the steps `usable_steps` keeps."""
    import time

    import jax
    from brax.training.agents.ppo import networks as ppo_networks

    start = time.perf_counter()
    normalizer, policy_params, value_params = params
    policy = ppo_networks.make_inference_fn(ppo_network)((normalizer, policy_params), deterministic=False)
    key_collect, key_fit = jax.random.split(jax.random.PRNGKey(seed))
    obs, rewards, dones = jax.jit(lambda k: collect(env, policy, k, num_envs, episode_length))(key_collect)
    returns = discounted_returns(rewards * reward_scaling, dones, discounting)
    keep = usable_steps(episode_length, discounting)
    alive = 1.0 - jax.numpy.concatenate([jax.numpy.zeros_like(dones[:1]), dones[:-1]])
    mask = np.asarray(alive[:keep]).reshape(-1) > 0
    flat_obs = jax.tree.map(lambda x: x[:keep].reshape((-1, *x.shape[2:]))[mask], obs)
    flat_targets = returns[:keep].reshape(-1)[mask]
    fitted, before, after = fit(
        ppo_network.value_network.apply, normalizer, value_params, flat_obs, flat_targets,
        updates=updates, learning_rate=learning_rate, batch_size=batch_size, key=key_fit,
    )  # fmt: skip
    report = WarmupReport(int(mask.sum()), before, after, time.perf_counter() - start)
    return (normalizer, policy_params, fitted), report


__all__ = ["WarmupReport", "collect", "discounted_returns", "fit", "horizon", "usable_steps", "warm_up_value"]
