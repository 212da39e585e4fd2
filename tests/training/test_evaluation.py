"""Evaluator: full-length deterministic episodes of a policy, compiled once (optionally in the background)."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brax.training.acme import running_statistics, specs
from brax.training.agents.ppo import networks as ppo_networks

from tabrl.scenes import load_scene
from tabrl.training.envs import SharedTraceEnv
from tabrl.training.evaluation import Evaluator


@pytest.fixture(scope="module")
def policy():
    """A random Brax PPO policy for CartpoleBalance (5 observations, 1 action): make_policy and params."""
    env = SharedTraceEnv(load_scene("CartpoleBalance").env)
    nets = ppo_networks.make_ppo_networks(
        env.observation_size, env.action_size, preprocess_observations_fn=running_statistics.normalize,
        policy_hidden_layer_sizes=(8, 8), value_hidden_layer_sizes=(8,),
    )  # fmt: skip
    normalizer = running_statistics.init_state(specs.Array((env.observation_size,), np.dtype("float32")))
    params = (
        normalizer,
        nets.policy_network.init(jax.random.PRNGKey(1)),
        nets.value_network.init(jax.random.PRNGKey(2)),
    )
    return env, ppo_networks.make_inference_fn(nets), params


def _evaluator(env, make_policy, seed: int = 0) -> Evaluator:
    return Evaluator(
        env, make_policy, num_envs=4, episode_length=60, action_repeat=1, deterministic=True, seed=seed
    )


def test_prepared_in_the_background_gives_the_same_results(policy) -> None:
    env, make_policy, params = policy
    direct = _evaluator(env, make_policy)
    prepared = _evaluator(env, make_policy)
    prepared.prepare(params)
    for _ in range(2):  # successive calls draw new reset keys, identically for both
        a, b = direct(params), prepared(params)
        assert a.reward_mean == pytest.approx(b.reward_mean, rel=1e-6)
        assert a.reward_terms == pytest.approx(b.reward_terms, rel=1e-6)
    assert a.episode_length == 60
    # CartpoleBalance pays at most 1 per step.
    assert 0 < a.reward_mean <= 60
    assert set(a.reward_terms) and a.reward_std >= 0


def test_compiles_once_per_run(policy) -> None:
    env, make_policy, params = policy
    evaluator = _evaluator(env, make_policy, seed=3)
    evaluator(params)
    program = evaluator._compiled
    evaluator(params)
    assert evaluator._compiled is program
    # Brax's normaliser holds `std_eps` as a Python float before the first update and as a
    # (weakly typed) array after it: still the same program.
    normalizer, policy_params, value_params = params
    assert isinstance(normalizer.std_eps, float)
    later = (normalizer.replace(std_eps=jnp.asarray(0.0)), policy_params, value_params)
    assert later[0].std_eps.weak_type
    evaluator(later)
    assert evaluator._compiled is program
    # Parameters of another shape are traced anew; a policy that does not fit the env fails there
    # and leaves the compiled program as it was.
    wider = normalizer.replace(mean=jnp.zeros(6), summed_variance=jnp.zeros(6), std=jnp.ones(6))
    with pytest.raises(ValueError, match="ncompatible shapes"):
        evaluator((wider, policy_params, value_params))
    assert evaluator._compiled is program
    assert evaluator(params).episode_length == 60


def test_a_failed_background_compile_is_raised_on_use(policy, monkeypatch) -> None:
    env, make_policy, params = policy
    evaluator = _evaluator(env, make_policy)

    class _Boom:
        def compile(self, **_kw):
            raise RuntimeError("XLA said no")

    monkeypatch.setattr(evaluator, "_run", SimpleNamespace(lower=lambda *a: _Boom()))
    evaluator.prepare(params)
    with pytest.raises(RuntimeError, match="XLA said no"):
        evaluator(params)
